#!/usr/bin/env python3
"""Benchmark: how fast the watcher's box heals, and what the watcher costs when idle.

Against a private supervisord in /tmp with dummy programs (sleep loops, startsecs 1) and
hybridhost-watcher from this tree as its event listener, with the watcher's default
timings (check_interval 5 on TICK_5, hang_timeout 5) except for repairs: no back-off
and 100 repairs allowed, so that every run is timed as a first repair:
  crash -> RUNNING again   kill -9 of a program until supervisord says RUNNING with a new
                           pid (supervisord's own restart; includes startsecs = 1 s);
  hang  -> restarted       SIGSTOP of a program (at a random point of the tick period)
                           until it RUNS again with a new pid (the watcher sees state T,
                           waits hang_timeout, kills and starts it);
  watcher idle             its RSS, and its CPU over --idle seconds of TICK_5 rounds
                           (the dummy box has no daemons to probe nor RPC servers to
                           ping: --lab and --tree-against-lab measure a whole box).
Medians over --runs runs (at least 5), and each run's figure.

--lab measures instead the lab's running watcher (the INSTALLED copy, under the lab's
supervisord); --tree-against-lab a watcher from this tree, started by the bench with a
copy of the lab's conf/watcher.conf (read-only use: its own state and log files, no
VIF repairs, hang timeouts at their maximum) and fed a TICK_5 every 5 s by the bench, as
supervisord would. Both: --samples windows of --idle seconds, each the watcher's RSS at
its end (with its live child processes: the sum) and its CPU over it (with its
children's, once reaped); medians. Run under 'flock -s /work/lab.lock'.

    PYTHONPATH=. /opt/hybridhost/venv/bin/python bench/watcher.py [--runs 5] [--idle 60]
        [--json] [--lab | --tree-against-lab] [--samples 5]
"""

import argparse
import configparser
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import psutil

from hybridhost import supervisor_rpc
from tests.functional import watcher_box

TARGETS = {"crash_s": 2.0, "hang_s": 15.0, "idle_rss_mb": 30.0, "idle_cpu_percent": 1.0}


def _restarted(box, name, old, timeout):
    def new_and_running():
        program = box.programs()[name]
        return program.state == "RUNNING" and program.pid not in (0, old)
    box.wait(new_and_running, timeout, "%s RUNNING with a new pid" % name, interval=0.02)


def crash_once(box):
    old = box.pid("demo:crashme")
    started = time.monotonic()
    os.kill(old, signal.SIGKILL)
    _restarted(box, "demo:crashme", old, 30)
    return time.monotonic() - started


def hang_once(box):
    # Rounds follow TICK_5: stop at a random point of the tick period, or every run
    # would land at the same phase and the median would say nothing about the others.
    time.sleep(random.uniform(0, 5))
    old = box.pid("demo:hangme")
    started = time.monotonic()
    os.kill(old, signal.SIGSTOP)
    _restarted(box, "demo:hangme", old, 60)
    return time.monotonic() - started


def idle(box, seconds):
    proc = psutil.Process(box.pid(watcher_box.WATCHER))
    before, started = proc.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, wall = proc.cpu_times(), time.monotonic() - started
    cpu = (after.user + after.system - before.user - before.system) / wall * 100
    return proc.memory_info().rss / 1e6, cpu


def measure(runs, idle_seconds):
    box = watcher_box.Box([watcher_box.program("crashme"), watcher_box.program("hangme")],
                          hang_timeout=5, repair_backoff=0, max_repairs=100).start()
    try:
        box.wait(lambda: "demo:hangme is healthy" in box.log(), 30, "a first round")
        crashes, hangs = [], []
        for _ in range(runs):
            crashes.append(crash_once(box))
            hangs.append(hang_once(box))
            time.sleep(1)
        rss, cpu = idle(box, idle_seconds)
        failed = "given up" in box.log()
    finally:
        box.stop()
    return {"runs": runs, "crash_s": crashes, "hang_s": hangs,
            "crash_median_s": statistics.median(crashes),
            "hang_median_s": statistics.median(hangs),
            "idle_rss_mb": rss, "idle_cpu_percent": cpu, "idle_seconds": idle_seconds,
            "given_up_during_bench": failed}


def _print(result):
    print("crash -> RUNNING again: median %.2f s (target <= %.0f s); runs: %s" % (
        result["crash_median_s"], TARGETS["crash_s"],
        ", ".join("%.2f" % s for s in result["crash_s"])))
    print("hang  -> restarted:     median %.2f s (target <= %.0f s); runs: %s" % (
        result["hang_median_s"], TARGETS["hang_s"],
        ", ".join("%.2f" % s for s in result["hang_s"])))
    print("watcher idle: RSS %.1f MB (target <= %.0f MB), CPU %.2f %% of one core over "
          "%d s (target < %.0f %%)" % (result["idle_rss_mb"], TARGETS["idle_rss_mb"],
                                      result["idle_cpu_percent"], result["idle_seconds"],
                                      TARGETS["idle_cpu_percent"]))


LAB_SOCKET = "/run/hybridhost/supervisor.sock"
LAB_WATCHER_CONF = "/etc/hybridhost/conf/watcher.conf"
#: What a watcher from this tree changes in the lab's conf/watcher.conf: its own files,
#: and no repair the lab's own watcher would not make first.
READ_ONLY = {"vif_repair": "false", "hang_timeout": "600", "rpc_hang_timeout": "3600"}


def _family(proc):
    """``proc`` and its live descendants (the VIF check's child, a privsep daemon)."""
    found = [proc]
    try:
        found += proc.children(recursive=True)
    except psutil.NoSuchProcess:
        pass
    return found


def _rss(procs):
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _cpu_seconds(proc):
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def sample(proc, seconds):
    """``(rss MB, rss MB with live children, CPU % of one core)`` over ``seconds``."""
    before, started = _cpu_seconds(proc), time.monotonic()
    peak = 0
    while time.monotonic() - started < seconds:
        peak = max(peak, _rss(_family(proc)))
        time.sleep(0.5)
    wall = time.monotonic() - started
    cpu = (_cpu_seconds(proc) - before) / wall * 100
    return proc.memory_info().rss / 1e6, peak / 1e6, cpu


def samples(proc, count, seconds):
    before, started = _cpu_seconds(proc), time.monotonic()
    runs = [sample(proc, seconds) for _ in range(count)]
    overall = (_cpu_seconds(proc) - before) / (time.monotonic() - started) * 100
    rss, family, cpu = zip(*runs, strict=True)
    return {"pid": proc.pid, "samples": count, "window_s": seconds,
            "cpu_overall_percent": overall,
            "rss_mb": list(rss), "rss_with_children_peak_mb": list(family),
            "cpu_percent": list(cpu), "rss_median_mb": statistics.median(rss),
            "rss_with_children_peak_median_mb": statistics.median(family),
            "cpu_median_percent": statistics.median(cpu)}


def lab_watcher():
    client = supervisor_rpc.SupervisorClient(LAB_SOCKET)
    found = {p.full_name: p for p in client.programs()}[watcher_box.WATCHER]
    return psutil.Process(found.pid)


def _read_only_conf(directory, vif_interval=None):
    parser = configparser.ConfigParser(interpolation=None)
    with open(LAB_WATCHER_CONF) as handle:
        parser.read_file(handle)
    if vif_interval is not None:
        parser["watcher"]["vif_interval"] = str(vif_interval)
    parser["watcher"].update(READ_ONLY, log_file=os.path.join(directory, "watcher.log"),
                             state_file=os.path.join(directory, "watcher.json"))
    path = os.path.join(directory, "watcher.conf")
    with open(path, "w") as handle:
        parser.write(handle)
    return path


def tree_against_lab(count, seconds, vif_interval=None):
    directory = tempfile.mkdtemp(prefix="hhwbench")
    conf = _read_only_conf(directory, vif_interval)
    proc = subprocess.Popen([sys.executable, "-m", "hybridhost.cmd.watcher", "--config-file",
                             conf], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=watcher_box.ROOT,
                                     **watcher_box.AS_THE_WATCHER))
    ticker = watcher_box.Ticker(proc)
    try:
        time.sleep(20)  # its first rounds, the VIF check's first run
        result = samples(psutil.Process(proc.pid), count, seconds)
    finally:
        ticker.stop.set()
        proc.stdin.close()
        proc.wait(30)
    result["log"] = os.path.join(directory, "watcher.log")
    return result


def _print_samples(what, result):
    print("%s (pid %d): RSS median %.1f MB (with its live children, peak per window: "
          "%.1f MB); CPU median %.2f %% of one core; %d windows of %d s" % (
              what, result["pid"], result["rss_median_mb"],
              result["rss_with_children_peak_median_mb"], result["cpu_median_percent"],
              result["samples"], result["window_s"]))
    print("  CPU over all the windows: %.2f %%" % result["cpu_overall_percent"])
    print("  RSS: %s; CPU: %s" % (", ".join("%.1f" % r for r in result["rss_mb"]),
                                  ", ".join("%.2f" % c for c in result["cpu_percent"])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--lab", action="store_true",
                       help="Measure the lab's running watcher (the installed copy).")
    where.add_argument("--tree-against-lab", action="store_true",
                       help="Measure a watcher from this tree against the lab, read-only.")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--vif-interval", type=int,
                        help="With --tree-against-lab: this vif_interval instead of the "
                             "lab's (the slow checks' child runs that often).")
    args = parser.parse_args()
    if args.runs < 5 or args.samples < 5:
        parser.error("--runs and --samples must be at least 5 (medians over 5 or more)")
    if args.lab or args.tree_against_lab:
        what = "the lab's watcher" if args.lab else "this tree's watcher against the lab"
        result = (samples(lab_watcher(), args.samples, args.idle) if args.lab
                  else tree_against_lab(args.samples, args.idle, args.vif_interval))
    else:
        what, result = None, measure(args.runs, args.idle)
    if args.json:
        print(json.dumps(result, indent=2))
    elif what:
        _print_samples(what, result)
    else:
        _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
