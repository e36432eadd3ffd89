"""SIGSTOP of the lab's real programs: nova-compute-docker, nova-compute-kvm and the OVS
agent. The lab's own watcher (the copy installed in its venv, under its supervisord)
must find each one hung and restart it; the service then answers its RPC ping again.
Then the same repair by this tree's watcher, before it is installed: run on the lab's
configuration and fed its ticks by the test, while the lab's watcher is paused.

These tests stop and restart the lab's programs: run them alone, under the lab's
exclusive lock (``flock -x /work/lab.lock python -m pytest -s
tests/e2e/test_watcher_hangs.py``). Each prints how long the repair took.
"""

import configparser
import os
import signal
import subprocess
import sys
import time

import pytest

from hybridhost import box
from hybridhost.render import watcher as watcher_render
from hybridhost.watcher import rpc
from hybridhost.watcher import topology
from tests.e2e import lab as e2e
from tests.functional import watcher_box

#: hang_timeout (5 s) + up to two rounds of 5 s + the stop and start: well within this.
REPAIR_TIMEOUT = 60
#: A restarted nova-compute or agent answers RPC once it has started its RPC server.
BACK_TIMEOUT = 240


@pytest.fixture(scope="module")
def topo(lab):
    return topology.load(os.path.join(lab.plan.config_dir, watcher_render.WATCHER_CONF))


def _program(client, name):
    return {p.full_name: p for p in client.programs()}[name]


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out after %s s waiting for %s" % (timeout, what))


@pytest.mark.parametrize("side", ["docker", "kvm", "agent"])
def test_a_stopped_program_is_found_hung_and_restarted_by_the_labs_watcher(lab, topo, side):
    assert lab.conf.watcher.enabled, "the lab runs no watcher"
    name = "hybridhost:%s" % getattr(lab.plan, side).program
    spec = topo.program(name)
    pinger = rpc.Pinger(topo.settings.transport_url, timeout=10)
    client = box.client_for(lab.conf)
    log_file = watcher_render.log_file(lab.conf)
    try:
        _wait(lambda: pinger.ping(spec.rpc_topic, spec.rpc_server, spec.rpc_exchange)[0]
              is None, BACK_TIMEOUT, "%s to answer its RPC ping before the test" % name)
        offset, old = e2e.log_size(log_file), _program(client, name).pid
        started = time.monotonic()
        os.kill(old, signal.SIGSTOP)
        try:
            _wait(lambda: _program(client, name).pid not in (0, old) and
                  _program(client, name).state == "RUNNING", REPAIR_TIMEOUT,
                  "the watcher to restart the stopped %s" % name)
        except AssertionError:
            os.kill(old, signal.SIGCONT)
            raise
        repaired = time.monotonic() - started
        _wait(lambda: pinger.ping(spec.rpc_topic, spec.rpc_server, spec.rpc_exchange)[0]
              is None, BACK_TIMEOUT, "the restarted %s to answer its RPC ping" % name)
        back = time.monotonic() - started
    finally:
        pinger.close()
    log = e2e.log_since(log_file, offset)
    # 'kill-restart' from this tree, 'resume-restart' from a watcher installed before it.
    assert "-restart, because its process %d is stopped (state stopped)" % old in log, \
        log[-3000:]
    print("%s: SIGSTOP -> restarted %.1f s, -> answers its RPC ping %.1f s" % (
        name, repaired, back))


def _tree_watcher(lab, directory):
    """This tree's hybridhost-watcher on a copy of the lab's conf/watcher.conf (its own
    log and state files, no slow checks), ticked every 5 s by the test. It takes the
    lab's watcher's name, which it leaves alone (the test pauses that one)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(lab.plan.config_dir, watcher_render.WATCHER_CONF))
    parser["watcher"].update(vif_interval="0", log_file=os.path.join(directory, "w.log"),
                             state_file=os.path.join(directory, "w.json"))
    conf = os.path.join(directory, "watcher.conf")
    with open(conf, "w") as handle:
        parser.write(handle)
    proc = subprocess.Popen([sys.executable, "-m", "hybridhost.cmd.watcher", "--config-file",
                             conf], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=watcher_box.ROOT,
                                     **watcher_box.AS_THE_WATCHER))
    return proc, watcher_box.Ticker(proc), os.path.join(directory, "w.log")


@pytest.mark.parametrize("side", ["docker", "kvm", "agent"])
def test_this_trees_watcher_kills_and_starts_a_stopped_program(lab, topo, tmp_path, side):
    """The kill-restart: SIGKILL of the stopped program and a start, with no graceful
    stop to wait for (the lab's own watcher is SIGSTOPped meanwhile, so that only this
    one repairs; supervisord keeps its events)."""
    name = "hybridhost:%s" % getattr(lab.plan, side).program
    spec = topo.program(name)
    client = box.client_for(lab.conf)
    lab_watcher = _program(client, watcher_box.WATCHER).pid
    pinger = rpc.Pinger(topo.settings.transport_url, timeout=10)
    proc, ticker, log_file = _tree_watcher(lab, str(tmp_path))
    os.kill(lab_watcher, signal.SIGSTOP)
    try:
        _wait(lambda: os.path.exists(os.path.join(str(tmp_path), "w.json")), 30,
              "this tree's watcher's first round")
        _wait(lambda: pinger.ping(spec.rpc_topic, spec.rpc_server, spec.rpc_exchange)[0]
              is None, BACK_TIMEOUT, "%s to answer its RPC ping before the test" % name)
        old, started = _program(client, name).pid, time.monotonic()
        os.kill(old, signal.SIGSTOP)
        _wait(lambda: _program(client, name).pid not in (0, old) and
              _program(client, name).state == "RUNNING", REPAIR_TIMEOUT,
              "this tree's watcher to restart the stopped %s" % name)
        repaired = time.monotonic() - started
        _wait(lambda: pinger.ping(spec.rpc_topic, spec.rpc_server, spec.rpc_exchange)[0]
              is None, BACK_TIMEOUT, "the restarted %s to answer its RPC ping" % name)
        back = time.monotonic() - started
    finally:
        os.kill(lab_watcher, signal.SIGCONT)
        ticker.stop.set()
        proc.stdin.close()
        proc.wait(30)
        pinger.close()
    with open(log_file) as handle:
        log = handle.read()
    assert "%s: kill-restart, because its process %d is stopped" % (name, old) in log, \
        log[-3000:]
    print("%s, this tree's watcher: SIGSTOP -> restarted %.1f s, -> answers its RPC ping "
          "%.1f s" % (name, repaired, back))
