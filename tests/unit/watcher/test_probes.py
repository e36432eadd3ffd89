"""The probes' own machinery: the deadline runner's threads and /proc on real processes."""

import os
import signal
import subprocess
import threading
import time

from hybridhost.watcher import probes


def test_answers_in_time_carry_latency_and_reasons():
    deadlines = probes.Deadlines()
    answers = deadlines.run({"ok": lambda: None, "no": lambda: "socket refused"}, 2)
    assert answers["ok"].ok and answers["ok"].latency is not None
    assert answers["no"].reason == "socket refused" and not answers["no"].ok


def test_a_slow_probe_is_cut_at_the_deadline_and_not_started_twice():
    release = threading.Event()
    started = []

    def slow():
        started.append(1)
        release.wait(10)

    deadlines = probes.Deadlines()
    begin = time.monotonic()
    first = deadlines.run({"slow": slow, "fast": lambda: None}, 0.3)["slow"]
    assert time.monotonic() - begin < 2
    assert first.timed_out and first.reason == "no answer within 0.3 s"
    second = deadlines.run({"slow": slow}, 0.3)["slow"]
    assert second.timed_out and "still waits" in second.reason and started == [1]
    release.set()
    deadlines.shutdown()


def test_a_probe_that_raises_answers_with_its_error():
    def broken():
        raise OSError("no such socket")

    answer = probes.Deadlines().run({"x": broken}, 1)["x"]
    assert answer.reason == "probe failed: OSError: no such socket"


def test_process_facts_of_a_real_process_running_then_stopped_then_gone():
    child = subprocess.Popen(["sleep", "30"])
    processes = probes.Processes()
    try:
        facts = processes.facts(child.pid)
        assert facts.present and not facts.hung and not facts.dead and facts.rss > 0
        os.kill(child.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while not processes.facts(child.pid).hung and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes.facts(child.pid).hung
    finally:
        child.kill()
        child.wait()
    assert processes.facts(child.pid).dead


def test_unixctl_without_a_socket_says_so(tmp_path):
    reason = probes.unixctl(str(tmp_path / "ovs-vswitchd.ctl"), 1)
    assert reason == "%s: no control socket" % (tmp_path / "ovs-vswitchd.ctl")


def test_the_control_socket_is_the_running_daemons_as_ovs_appctl_finds_it(tmp_path):
    """A killed lab leaves ovs-vswitchd.ctl behind: the daemon its pidfile names, at
    <pid>.ctl, is the one to ask (seen in CI: 'Connection refused')."""
    target = tmp_path / "ovs-vswitchd.ctl"
    target.touch()
    assert probes.control_socket(str(target)) == str(target)
    (tmp_path / "ovs-vswitchd.pid").write_text("4242\n")
    assert probes.control_socket(str(target)) == str(target)  # no such <pid>.ctl
    (tmp_path / "ovs-vswitchd.4242.ctl").touch()
    assert probes.control_socket(str(target)) == str(tmp_path / "ovs-vswitchd.4242.ctl")


def test_without_the_named_socket_the_last_pid_named_one_is_asked(tmp_path):
    (tmp_path / "ovs-vswitchd.17.ctl").touch()
    (tmp_path / "ovs-vswitchd.18.ctl").touch()
    assert probes.control_socket(str(tmp_path / "ovs-vswitchd.ctl")) == str(
        tmp_path / "ovs-vswitchd.18.ctl")
    assert probes.control_socket(str(tmp_path / "none" / "ovs-vswitchd.ctl")) is None


def test_docker_probe_of_a_missing_socket_is_a_reason(tmp_path):
    reason = probes.docker("unix://%s" % (tmp_path / "docker.sock"), 1)
    assert reason and "docker.sock" in reason or "No such file" in reason


def test_process_cpu_is_measured_between_two_looks():
    child = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    processes = probes.Processes()
    try:
        assert processes.facts(child.pid).cpu_percent == 0.0
        # A busy loop gets a fair share of a core within a few looks, however loaded
        # the box (one 0.5 s look failed while a density bench ran beside it).
        seen = []
        for _look in range(10):
            time.sleep(0.5)
            seen.append(processes.facts(child.pid).cpu_percent)
            if seen[-1] > 20:
                break
        assert seen[-1] > 20, seen
    finally:
        child.kill()
        child.wait()


def test_a_process_name_with_spaces_and_parentheses_is_read(tmp_path):
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "stat").write_text(
        "42 (a (b) c) T 1 42 42 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 1 0 999 0 0")
    (tmp_path / "42" / "statm").write_text("100 25 0 0 0 0 0")
    facts = probes.Processes(str(tmp_path)).facts(42)
    assert facts.hung and facts.status == "stopped"
    assert facts.rss == 25 * probes.PAGE
