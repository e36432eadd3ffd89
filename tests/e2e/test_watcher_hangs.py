"""SIGSTOP of the lab's real programs: nova-compute-docker, nova-compute-kvm and the OVS
agent. The lab's own watcher (the copy installed in its venv, under its supervisord)
must find each one hung and restart it; the service then answers its RPC ping again.

These tests stop and restart the lab's programs: run them alone, under the lab's
exclusive lock (``flock -x /work/lab.lock python -m pytest -s
tests/e2e/test_watcher_hangs.py``). Each prints how long the repair took.
"""

import os
import signal
import time

import pytest

from hybridhost import box
from hybridhost.render import watcher as watcher_render
from hybridhost.watcher import rpc
from hybridhost.watcher import topology

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


def _log_size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def _log_since(path, offset):
    with open(path) as handle:
        handle.seek(offset)
        return handle.read()


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
        offset, old = _log_size(log_file), _program(client, name).pid
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
    log = _log_since(log_file, offset)
    # 'kill-restart' from this tree, 'resume-restart' from a watcher installed before it.
    assert "-restart, because its process %d is stopped (state stopped)" % old in log, \
        log[-3000:]
    print("%s: SIGSTOP -> restarted %.1f s, -> answers its RPC ping %.1f s" % (
        name, repaired, back))
