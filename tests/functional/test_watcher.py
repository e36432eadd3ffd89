"""hybridhost-watcher as supervisord's event listener, against a REAL private supervisord
running dummy programs (tests/functional/watcher_box.py): crashes, hangs, crash loops,
malformed events and 'hybridhost status' exit codes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.functional import base
from tests.functional import watcher_box

SUPERVISORD = os.path.join(watcher_box.BIN, "supervisord")


@pytest.fixture
def make_box():
    base.require(os.path.exists(SUPERVISORD), "supervisord is not installed beside this "
                 "Python (%s)" % SUPERVISORD)
    boxes = []

    def make(*args, **kwargs):
        boxes.append(watcher_box.Box(*args, **kwargs).start())
        return boxes[-1]

    yield make
    for box in boxes:
        box.stop()


def _healthy_report(box, names):
    def check():
        try:
            with open(box.report_path()) as handle:
                parts = {p["part"]: p for p in json.load(handle)["parts"]}
        except (OSError, ValueError):
            return False
        return all(parts.get(n, {}).get("health") == "healthy" for n in names)
    return check


def test_kill_9_of_a_program_is_running_again(make_box):
    box = make_box([watcher_box.program("worker")])
    box.wait(lambda: box.state("demo:worker") == "RUNNING", 10, "worker RUNNING")
    old = box.pid("demo:worker")
    os.kill(old, signal.SIGKILL)
    box.wait(lambda: box.state("demo:worker") == "RUNNING" and box.pid("demo:worker") != old,
             10, "worker RUNNING again")
    box.wait(lambda: "demo:worker crashed" in box.log(), 10, "the crash logged")


def test_sigstop_is_detected_as_a_hang_and_restarted(make_box):
    box = make_box([watcher_box.program("worker"), watcher_box.program("dependent")],
                   needs={"dependent": ["worker"]})
    box.wait(_healthy_report(box, ["demo:worker", "demo:dependent"]), 20, "a healthy round")
    old = box.pid("demo:worker")
    os.kill(old, signal.SIGSTOP)
    box.wait(lambda: box.state("demo:worker") == "RUNNING" and box.pid("demo:worker") != old,
             25, "the stopped worker restarted")
    log = box.log()
    assert "demo:worker: kill-restart, because its process %d is stopped" % old in log
    box.wait(lambda: "demo:worker is RUNNING again: checking what depends on it now "
             "(demo:dependent)" in box.log(), 10, "its dependent checked")
    assert box.state("demo:dependent") == "RUNNING"


def test_a_program_that_keeps_crashing_ends_failed_not_restarted_forever(make_box):
    box = make_box([watcher_box.program("crasher", "sh -c 'sleep 1.5; exit 3'",
                                        startsecs=1)])
    box.wait(lambda: box.state("demo:crasher") == "STOPPED" and
             "given up: it crashed 4 times" in box.log(), 40, "the crasher given up")
    time.sleep(3)
    assert box.state("demo:crasher") == "STOPPED"
    box.wait(lambda: _part(box, "demo:crasher").get("health") == "failed", 15,
             "the crasher reported failed")


def _part(box, name):
    try:
        with open(box.report_path()) as handle:
            return {p["part"]: p for p in json.load(handle)["parts"]}.get(name, {})
    except (OSError, ValueError):
        return {}


def test_malformed_events_do_not_kill_the_listener(tmp_path):
    """The real hybridhost-watcher process, fed garbage on stdin: it answers each event
    and is still there for the next one."""
    conf = tmp_path / "watcher.conf"
    conf.write_text("[watcher]\nlog_file = %s\nstate_file = %s\nsupervisor_socket = %s\n"
                    % (tmp_path / "w.log", tmp_path / "s.json", tmp_path / "none.sock"))
    proc = subprocess.Popen([sys.executable, "-m", "hybridhost.cmd.watcher",
                             "--config-file", str(conf)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=dict(os.environ,
                                                             PYTHONPATH=watcher_box.ROOT))
    good = b"ver:3.0 server:supervisor serial:1 pool:w poolserial:1 eventname:TICK_5 len:6\n"
    events = [b"garbage\n", b"ver:3.0 eventname:TICK_5 len:x\n", b"eventname:X len:3\n\xff\xfe!",
              b"ver:3.0 eventname:PROCESS_STATE_EXITED len:5\nnokv!", good + b"when:1"]
    try:
        assert proc.stdout.read(6) == b"READY\n"
        for event in events:
            proc.stdin.write(event)
            proc.stdin.flush()
            assert proc.stdout.read(len(b"RESULT 2\nOK")) == b"RESULT 2\nOK"
            assert proc.stdout.read(6) == b"READY\n"
        assert proc.poll() is None
    finally:
        proc.stdin.close()
        assert proc.wait(10) == 0
    log = (tmp_path / "w.log").read_text()
    assert log.count("malformed event ignored") == 4
    assert "supervisord" in json.loads((tmp_path / "s.json").read_text())["parts"][0]["part"]


def test_status_exit_codes_healthy_degraded_down(make_box):
    """healthy 0; a hang the watcher sees (and, with hang_timeout 600, does not repair
    yet) 1; a stopped program 2; supervisord gone 2."""
    box = make_box([watcher_box.program("worker")], hang_timeout=600)
    box.wait(_healthy_report(box, ["demo:worker"]), 20, "a healthy round")
    code, out = box.status()
    assert code == 0 and "box: healthy" in out, out
    pid = box.pid("demo:worker")
    os.kill(pid, signal.SIGSTOP)
    box.wait(lambda: _part(box, "demo:worker").get("health") == "degraded", 20,
             "the hang reported")
    code, out = box.status()
    assert code == 1 and "is stopped (state stopped)" in out and "box: degraded" in out, out
    os.kill(pid, signal.SIGCONT)
    box.client.stop("demo:worker")
    code, out = box.status("--json")
    data = json.loads(out)
    assert code == 2 and data["health"] == "down", out
    box.client.shutdown()
    box.wait(lambda: box.state("demo:worker") is None, 20, "supervisord gone")
    code, out = box.status()
    assert code == 2 and "box: down" in out


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_metrics_on_loopback_in_prometheus_text(make_box):
    port = _free_port()
    box = make_box([watcher_box.program("worker")],
                   settings="metrics_host = 127.0.0.1\nmetrics_port = %d\n" % port)
    box.wait(_healthy_report(box, ["demo:worker"]), 20, "a healthy round")
    os.kill(box.pid("demo:worker"), signal.SIGKILL)
    box.wait(lambda: "demo:worker crashed" in box.log(), 10, "the crash logged")
    box.wait(_healthy_report(box, ["demo:worker"]), 20, "healthy again")
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as reply:
        text = reply.read().decode()
    assert 'hybridhost_program_up{program="demo:worker"} 1.0' in text
    assert 'hybridhost_part_health{part="demo:worker"} 0.0' in text
    assert 'hybridhost_program_crashes_total{program="demo:worker"} 1.0' in text
    assert 'hybridhost_program_rss_bytes{program="demo:worker"}' in text


def _follower(directory, name, leader):
    """A program that writes its pid to <name>.pid and stops itself (state T, as a
    service wedged by the loss of what it needs) when <leader>.pid changes: when the
    program it needs restarts."""
    return watcher_box.program(name, (
        "sh -c 'echo $$ > {d}/{n}.pid; first=$(cat {d}/{l}.pid); while :; do sleep 0.2; "
        "now=$(cat {d}/{l}.pid); [ \"$now\" = \"$first\" ] || {{ first=$now; "
        "kill -STOP $$; }}; done'").format(d=directory, n=name, l=leader))


def test_after_a_dependency_restarts_its_dependents_are_restarted_in_start_order(tmp_path):
    """base <- middle <- top (middle and top both wedge when base restarts): the watcher
    restarts middle first, and top only once middle is RUNNING and healthy again."""
    base.require(os.path.exists(SUPERVISORD), "supervisord is not installed")
    d = str(tmp_path)
    box = watcher_box.Box(
        [watcher_box.program("base", "sh -c 'echo $$ > %s/base.pid; exec sleep 1000'" % d),
         _follower(d, "middle", "base"), _follower(d, "top", "base")],
        needs={"middle": ["base"], "top": ["middle"]}).start()
    try:
        box.wait(_healthy_report(box, ["demo:base", "demo:middle", "demo:top"]), 30,
                 "a healthy round")
        olds = {name: box.pid("demo:%s" % name) for name in ("middle", "top")}
        box.client.restart("demo:base")
        box.wait(lambda: all(box.pid("demo:%s" % n) != old and
                             box.state("demo:%s" % n) == "RUNNING"
                             for n, old in olds.items()), 60, "middle and top restarted")
        log = box.log()
        middle = log.index("demo:middle: kill-restart, because")
        top = log.index("demo:top: kill-restart, because")
        assert "demo:base is RUNNING again: checking what depends on it now" in log
        assert "its repair waits for demo:middle (RUNNING and healthy first)" in log[:top]
        # top's repair came in a round after middle was RUNNING again (and healthy: a
        # round's health lines are written at its end, after its repairs).
        assert middle < log.index("demo:middle is RUNNING again", middle) < top, log[-3000:]
    finally:
        box.stop()

