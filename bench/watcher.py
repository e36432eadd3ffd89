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
                           waits hang_timeout, SIGCONT, restart);
  watcher idle             its RSS, and its CPU over --idle seconds of TICK_5 rounds;
  with oslo.messaging      the RSS of a Python that imported what a watcher with RPC
                           targets imports (the dummy box has none, so never loads it).
Medians over --runs runs (at least 5), and each run's figure.

    PYTHONPATH=. /opt/hybridhost/venv/bin/python bench/watcher.py [--runs 5] [--idle 60]
        [--json]
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time

import psutil

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


def rss_with_rpc():
    code = ("import hybridhost.cmd.watcher, hybridhost.watcher.service, oslo_messaging, "
            "psutil; print(psutil.Process().memory_info().rss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=watcher_box.ROOT), check=True)
    return int(out.stdout.split()[-1]) / 1e6


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
            "rss_with_oslo_messaging_mb": rss_with_rpc(), "given_up_during_bench": failed}


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
    print("a Python with the watcher and oslo.messaging imported: RSS %.1f MB"
          % result["rss_with_oslo_messaging_mb"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5 (medians over 5 runs or more)")
    result = measure(args.runs, args.idle)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
