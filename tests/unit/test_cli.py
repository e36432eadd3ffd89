import json
import os
import subprocess
import sys

import pytest

from hybridhost import box
from hybridhost.cmd import main as cli
from tests.unit import confutils
from tests.unit import fakes


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestRender:
    def test_render_then_check(self, tmp_path, capsys):
        path = confutils.write_conf(tmp_path)
        code, out, _ = _run(capsys, "--config-file", path, "render")
        assert code == 0 and "9 file(s) rendered for box box" in out
        code, out, _ = _run(capsys, "--config-file", path, "render", "--check")
        assert code == 0 and "up to date" in out

    def test_check_reports_drift_with_a_diff(self, tmp_path, capsys):
        path = confutils.write_conf(tmp_path)
        _run(capsys, "--config-file", path, "render")
        target = tmp_path / "etc" / "conf" / "nova-kvm.conf"
        target.write_text(target.read_text().replace("virt_type = qemu", "virt_type = kvm"))
        code, out, err = _run(capsys, "--config-file", path, "render", "--check")
        assert code == 1
        assert "-virt_type = kvm" in out and "+virt_type = qemu" in out
        assert "1 file(s)" in err

    def test_output_dir(self, tmp_path, capsys):
        path = confutils.write_conf(tmp_path)
        code, out, _ = _run(capsys, "--config-file", path, "render", "--output",
                            str(tmp_path / "elsewhere"))
        assert code == 0
        assert (tmp_path / "elsewhere" / "conf" / "nova-docker.conf").exists()
        assert "refer to each other under" in out

    @pytest.mark.parametrize("extra, words", [
        ("[host]\ntotal_vcpus = lots\n", "[host] total_vcpus"),
        ("[host]\ndocker_compute_host = x\nkvm_compute_host = x\n", "distinct host"),
        ("[host]\ndocker_vcpus = 7\nkvm_vcpus = 7\n", "capacity"),
    ])
    def test_bad_config_exit_2_short_error_nothing_written(self, tmp_path, capsys,
                                                           extra, words):
        path = confutils.write_conf(tmp_path, extra)
        code, out, err = _run(capsys, "--config-file", path, "render")
        assert code == 2
        assert words in err and "Traceback" not in err
        assert err.count("\n") <= 2
        assert not (tmp_path / "etc").exists()

    def test_missing_config_file(self, tmp_path, capsys):
        code, _, err = _run(capsys, "--config-file", str(tmp_path / "none.conf"), "render")
        assert code == 2 and "none.conf" in err


class TestStatus:
    """Exit codes: 0 healthy, 1 degraded, 2 down (tests/unit/watcher/test_status.py has
    the watcher's part)."""

    @pytest.fixture
    def conf_path(self, tmp_path):
        return confutils.write_conf(tmp_path, "[watcher]\nenabled = false\n")

    def _fake(self, monkeypatch, states):
        fake = fakes.FakeSupervisorClient(states)
        monkeypatch.setattr(box, "client_for", lambda conf, timeout=10: fake)
        return fake

    def test_all_running_exit_0(self, monkeypatch, capsys, conf_path):
        self._fake(monkeypatch, {"hybridhost:nova-compute-docker": "RUNNING",
                                 "host-services:dockerd": "RUNNING"})
        code, out, _ = _run(capsys, "--config-file", conf_path, "status")
        assert code == 0
        assert "hybridhost:nova-compute-docker  RUNNING  healthy" in out

    def test_one_fatal_is_down_exit_2_and_json(self, monkeypatch, capsys, conf_path):
        self._fake(monkeypatch, {"hybridhost:nova-compute-docker": "RUNNING",
                                 "hybridhost:nova-compute-kvm": "FATAL"})
        code, out, _ = _run(capsys, "--config-file", conf_path, "status", "--json")
        assert code == 2
        data = json.loads(out)
        assert data["health"] == "down"
        assert {p["name"]: p["state"] for p in data["programs"]} == {
            "hybridhost:nova-compute-docker": "RUNNING",
            "hybridhost:nova-compute-kvm": "FATAL"}
        assert {p["part"]: p["health"] for p in data["parts"]} == {
            "supervisord": "healthy", "hybridhost:nova-compute-docker": "healthy",
            "hybridhost:nova-compute-kvm": "down"}

    def test_one_starting_is_degraded_exit_1(self, monkeypatch, capsys, conf_path):
        self._fake(monkeypatch, {"hybridhost:nova-compute-docker": "RUNNING",
                                 "hybridhost:nova-compute-kvm": "BACKOFF"})
        code, out, _ = _run(capsys, "--config-file", conf_path, "status")
        assert code == 1 and "box: degraded" in out

    def test_supervisord_down_exit_2_with_hint(self, capsys, conf_path):
        code, _, err = _run(capsys, "--config-file", conf_path, "status")
        assert code == 2 and "hybridhost up" in err

    def test_down_when_not_running_is_fine(self, capsys, conf_path):
        code, out, _ = _run(capsys, "--config-file", conf_path, "down")
        assert code == 0 and "not running" in out


class TestWaitFor:
    def test_execs_when_ready(self, tmp_path):
        # wait-for replaces its process: run it in a child to observe the exec.
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os._exit(cli.main(["wait-for", "--timeout", "2", "--unix-socket", "/",
                               "--", "true"]) or 0)
        _, status = os.waitpid(pid, 0)
        # "/" is not a socket: times out with exit 1 and never execs 'true'.
        assert os.waitstatus_to_exitcode(status) == 1

    def test_execs_the_command_once_the_socket_answers(self, tmp_path):
        import socket

        path = str(tmp_path / "dep.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        try:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - child
                os._exit(cli.main(["wait-for", "--timeout", "5", "--unix-socket", path,
                                   "--", "sh", "-c", "exit 7"]) or 0)
            _, status = os.waitpid(pid, 0)
        finally:
            server.close()
        assert os.waitstatus_to_exitcode(status) == 7

    def test_needs_a_command(self, capsys):
        code, _, err = _run(capsys, "wait-for", "--timeout", "1")
        assert code == 2 and "no command" in err

    def test_a_lone_double_dash_is_no_command(self, capsys):
        code, _, err = _run(capsys, "wait-for", "--timeout", "1", "--")
        assert code == 2 and "no command" in err

    def test_the_parser_imports_nothing_the_commands_drive(self):
        """supervisord runs wait-for before every program, and each run builds the
        whole parser: the command modules keep their heavy imports inside commands."""
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        code = ("import sys\nfrom hybridhost.cmd import main\nmain.build_parser()\n"
                "print(' '.join(sys.modules))")
        loaded = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=root),
                                capture_output=True, text=True, check=True).stdout.split()
        heavy = {"hybridhost.conf", "hybridhost.box", "hybridhost.readiness",
                 "hybridhost.lab.lifecycle", "oslo_config", "docker", "openstack"}
        assert "hybridhost.cmd.targeting" in loaded
        assert heavy.isdisjoint(loaded)

    def test_help_explains(self, capsys):
        with pytest.raises(SystemExit):
            cli.main(["--help"])
        out = capsys.readouterr().out
        for command in ("render", "up", "down", "status", "doctor"):
            assert command in out
