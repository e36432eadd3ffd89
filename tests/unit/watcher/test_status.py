"""'hybridhost status' with the watcher: its report merged, freshness, exit codes."""

import json
import time

import pytest

from hybridhost import box
from hybridhost.cmd import main as cli
from hybridhost.watcher import state
from tests.unit import confutils
from tests.unit import fakes

WATCHER = "hybridhost-watcher:hybridhost-watcher"
DOCKER = "hybridhost:nova-compute-docker"
KVM = "hybridhost:nova-compute-kvm"


@pytest.fixture
def path(tmp_path):
    return confutils.write_conf(tmp_path)


def _supervisor(monkeypatch, states):
    fake = fakes.FakeSupervisorClient(states)
    monkeypatch.setattr(box, "client_for", lambda conf, timeout=10: fake)


def _report(tmp_path, parts, age=1):
    written = time.time() - age
    state.write(str(tmp_path / "run" / "hybridhost-watcher.json"),
                [state.Part(name, kind, st, health, written, detail)
                 for name, kind, st, health, detail in parts], written, 5, 123)


def _status(capsys, path, *extra):
    code = cli.main(["--config-file", path, "status"] + list(extra))
    return code, capsys.readouterr().out


RUNNING = {DOCKER: "RUNNING", KVM: "RUNNING", WATCHER: "RUNNING"}
HEALTHY = [(DOCKER, "program", "RUNNING", "healthy", "pid 1; rpc ping 3 ms"),
           (KVM, "program", "RUNNING", "healthy", "pid 2; rpc ping 4 ms"),
           ("docker", "service", "answers", "healthy", "answered in 2 ms")]


def test_healthy_box_exit_0_with_the_watchers_details(monkeypatch, capsys, tmp_path, path):
    _supervisor(monkeypatch, RUNNING)
    _report(tmp_path, HEALTHY)
    code, out = _status(capsys, path)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["PART", "STATE", "HEALTH", "LAST", "CHECK", "DETAIL"]
    assert lines[2].split()[:3] == [DOCKER, "RUNNING", "healthy"]
    assert lines[2].split()[4] == "ago"
    assert lines[2].endswith("pid 1; rpc ping 3 ms")
    assert lines[4].split()[:3] == ["docker", "answers", "healthy"]
    assert lines[5].split()[:3] == [WATCHER, "RUNNING", "healthy"]
    assert "box: healthy" in lines


def test_a_hang_seen_by_the_watcher_is_degraded_exit_1(monkeypatch, capsys, tmp_path, path):
    _supervisor(monkeypatch, RUNNING)
    _report(tmp_path, [(DOCKER, "program", "RUNNING", "degraded",
                        "its process 1 is stopped (state stopped) for 3 s")] + HEALTHY[1:])
    code, out = _status(capsys, path)
    assert code == 1 and "is stopped (state stopped)" in out and "box: degraded" in out


def test_a_given_up_program_is_down_exit_2(monkeypatch, capsys, tmp_path, path):
    _supervisor(monkeypatch, dict(RUNNING, **{KVM: "STOPPED"}))
    _report(tmp_path, HEALTHY[:1] + [(KVM, "program", "STOPPED", "failed",
                                      "given up: it crashed 4 times within 300 s")])
    code, out = _status(capsys, path, "--json")
    data = json.loads(out)
    assert code == 2 and data["health"] == "down"
    (kvm,) = [p for p in data["parts"] if p["part"] == KVM]
    assert kvm["health"] == "failed" and "crashed 4 times" in kvm["detail"]


def test_a_daemon_not_answering_is_down_exit_2(monkeypatch, capsys, tmp_path, path):
    _supervisor(monkeypatch, RUNNING)
    _report(tmp_path, HEALTHY[:2] + [("libvirt", "service", "no answer", "down",
                                      "no answer within 3 s")])
    assert _status(capsys, path)[0] == 2


@pytest.mark.parametrize("age,words", [(None, "no report from the watcher"),
                                       (60, "its last report is 60 s old")])
def test_without_a_fresh_report_the_watcher_row_is_degraded(monkeypatch, capsys, tmp_path,
                                                            path, age, words):
    _supervisor(monkeypatch, RUNNING)
    if age:
        _report(tmp_path, HEALTHY, age=age)
    code, out = _status(capsys, path)
    (row,) = [line for line in out.splitlines() if line.startswith(WATCHER)]
    assert code == 1 and "degraded" in row and words in row and "hangs go unseen" in row
    assert "answered in 2 ms" not in out


def test_a_report_about_another_state_is_not_used(monkeypatch, capsys, tmp_path, path):
    """supervisord's state now wins over an older verdict about another state."""
    _supervisor(monkeypatch, dict(RUNNING, **{DOCKER: "BACKOFF"}))
    _report(tmp_path, HEALTHY)
    code, out = _status(capsys, path)
    (row,) = [line for line in out.splitlines() if line.startswith(DOCKER)]
    assert code == 1 and row.split()[1:3] == ["BACKOFF", "degraded"]


def test_watch_redraws_until_interrupted(monkeypatch, capsys, tmp_path, path):
    _supervisor(monkeypatch, RUNNING)
    _report(tmp_path, HEALTHY)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", sleep)
    code, out = _status(capsys, path, "--watch", "0.5")
    assert code == 0 and sleeps == [0.5, 0.5] and out.count("\033[H\033[J") == 2


def test_the_ledgers_rows_show_and_never_change_the_exit_code(monkeypatch, capsys, tmp_path,
                                                              path):
    _supervisor(monkeypatch, RUNNING)
    _report(tmp_path, HEALTHY + [
        ("ledger:kvm", "ledger", "problems", "degraded", "1 instance(s); ledger unknown: x")])
    code, out = _status(capsys, path)
    assert code == 0 and "box: healthy" in out
    assert any(line.split()[:3] == ["ledger:kvm", "problems", "degraded"]
               for line in out.splitlines())
