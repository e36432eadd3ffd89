"""An upgrade of hybridhost's code restarts the Docker side's nova-compute, once."""

import pytest

from hybridhost import box
from hybridhost import exception
from hybridhost import plan as box_plan
from tests.unit import confutils
from tests.unit import fakes


class RecordingSupervisor(fakes.FakeSupervisorClient):
    def __init__(self, programs, **faults):
        super().__init__(programs, **faults)
        self.calls = []

    def start(self, name, wait=False):
        self.calls.append(("start", name))
        return super().start(name, wait)

    def stop(self, name, wait=True):
        self.calls.append(("stop", name))
        return super().stop(name, wait)


def _package(tmp_path, text):
    root = tmp_path / "pkg"
    (root / "sub" / "__pycache__").mkdir(parents=True, exist_ok=True)
    (root / "sub" / "mod.py").write_text(text)
    (root / "sub" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"ignored")
    return [str(root)]


class TestFingerprint:
    def test_changes_with_the_code_not_with_bytecode(self, tmp_path):
        first = box.code_fingerprint(_package(tmp_path, "A = 1\n"))
        (tmp_path / "pkg" / "sub" / "__pycache__" / "x.pyc").write_bytes(b"other")
        assert box.code_fingerprint([str(tmp_path / "pkg")]) == first
        assert box.code_fingerprint(_package(tmp_path, "A = 2\n")) != first

    def test_the_installed_package_has_one(self):
        assert len(box.code_fingerprint()) == 64


class TestRestartIfCodeChanged:
    def _setup(self, tmp_path, monkeypatch, code, state="RUNNING", **faults):
        conf = confutils.load(tmp_path)
        plan = box_plan.build(conf)
        supervisor = RecordingSupervisor({"hybridhost:%s" % plan.docker.program: state},
                                         **faults)
        monkeypatch.setattr(box, "client_for", lambda _conf, timeout=10: supervisor)
        monkeypatch.setattr(box, "code_fingerprint", lambda: code[0])
        return conf, plan, supervisor

    def test_first_start_records_then_only_a_new_code_restarts(self, tmp_path, monkeypatch):
        code = ["aaa"]
        conf, plan, supervisor = self._setup(tmp_path, monkeypatch, code)
        program = "hybridhost:%s" % plan.docker.program
        assert box.restart_if_code_changed(conf, plan) == []          # supervisord starting
        assert box.restart_if_code_changed(conf, plan, set()) == []   # same code
        code[0] = "bbb"
        assert box.restart_if_code_changed(conf, plan, set()) == [program]
        assert supervisor.calls == [("stop", program), ("start", program)]
        assert box.restart_if_code_changed(conf, plan, set()) == []   # recorded

    def test_no_second_restart_when_the_group_was_just_restarted(self, tmp_path, monkeypatch):
        code = ["aaa"]
        conf, plan, supervisor = self._setup(tmp_path, monkeypatch, code)
        box.restart_if_code_changed(conf, plan)
        code[0] = "bbb"
        assert box.restart_if_code_changed(conf, plan, {"hybridhost"}) == []
        assert supervisor.calls == []
        assert box.restart_if_code_changed(conf, plan, set()) == []   # recorded anyway

    def test_no_second_restart_when_the_program_was_just_restarted(self, tmp_path,
                                                                    monkeypatch):
        code = ["aaa"]
        conf, plan, supervisor = self._setup(tmp_path, monkeypatch, code)
        box.restart_if_code_changed(conf, plan)
        code[0] = "bbb"
        program = "hybridhost:%s" % plan.docker.program
        assert box.restart_if_code_changed(conf, plan, set(), [program]) == []
        assert supervisor.calls == []
        assert box.restart_if_code_changed(conf, plan, set()) == []   # recorded anyway

    def test_the_watcher_runs_our_code_too(self, tmp_path, monkeypatch):
        code = ["aaa"]
        conf, plan, supervisor = self._setup(tmp_path, monkeypatch, code)
        watcher = "hybridhost-watcher:hybridhost-watcher"
        supervisor = RecordingSupervisor({"hybridhost:%s" % plan.docker.program: "RUNNING",
                                          watcher: "RUNNING"})
        monkeypatch.setattr(box, "client_for", lambda _conf, timeout=10: supervisor)
        box.restart_if_code_changed(conf, plan)
        code[0] = "bbb"
        program = "hybridhost:%s" % plan.docker.program
        assert box.restart_if_code_changed(conf, plan, set()) == [program, watcher]
        code[0] = "ccc"
        assert box.restart_if_code_changed(conf, plan, {"hybridhost-watcher"}) == [program]

    def test_a_stopped_program_is_just_started(self, tmp_path, monkeypatch):
        code = ["aaa"]
        conf, plan, supervisor = self._setup(tmp_path, monkeypatch, code, state="FATAL")
        box.restart_if_code_changed(conf, plan)
        code[0] = "bbb"
        program = "hybridhost:%s" % plan.docker.program
        assert box.restart_if_code_changed(conf, plan, set()) == [program]
        assert supervisor.calls == [("stop", program), ("start", program)]
        assert supervisor.programs()[0].running

    def test_a_spawn_error_is_raised_naming_the_program(self, tmp_path, monkeypatch):
        code = ["aaa"]
        conf, plan, _ = self._setup(tmp_path, monkeypatch, code, cannot_spawn=[
            "hybridhost:%s" % box_plan.build(confutils.load(tmp_path)).docker.program])
        box.restart_if_code_changed(conf, plan)
        code[0] = "bbb"
        with pytest.raises(exception.SupervisorFault) as caught:
            box.restart_if_code_changed(conf, plan, set())
        assert str(caught.value) == ("supervisord refused to start hybridhost:%s: SPAWN_ERROR"
                                     % plan.docker.program)
