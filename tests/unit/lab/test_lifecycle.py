"""lab up/down helpers that need no daemon: restarts, health, access, CLI."""

import importlib.util
import os
import stat
import time
from unittest import mock

import pytest
import yaml

from hybridhost import exception
from hybridhost import lab_state
from hybridhost import plan as box_plan
from hybridhost.cmd import main as cli
from hybridhost.lab import access
from hybridhost.lab import lifecycle
from tests.unit import confutils
from tests.unit import fakes

DOCKER = "hybridhost:nova-compute-docker"
KVM = "hybridhost:nova-compute-kvm"


class TestRestarts:
    """The lab's restarts, stops and starts tolerate only the fault they mean to."""

    def _supervisor(self, tmp_path, monkeypatch, states, **faults):
        supervisor = fakes.FakeSupervisorClient(states, **faults)
        monkeypatch.setattr(lifecycle.box, "client_for", lambda _conf, timeout=10: supervisor)
        return confutils.load(tmp_path), supervisor

    def test_restart_of_a_stopped_program_starts_it(self, tmp_path, monkeypatch):
        conf, supervisor = self._supervisor(tmp_path, monkeypatch,
                                            {DOCKER: "RUNNING", KVM: "STOPPED"})
        said = []
        lifecycle._restart(conf, [DOCKER, KVM], said.append, "why")  # noqa: SLF001
        assert all(p.running for p in supervisor.programs())
        assert said == ["restarted %s, %s (why)" % (DOCKER, KVM)]

    def test_a_spawn_error_on_restart_is_raised_naming_the_program(
            self, tmp_path, monkeypatch):
        conf, _ = self._supervisor(tmp_path, monkeypatch, {DOCKER: "RUNNING", KVM: "RUNNING"},
                                   cannot_spawn=[KVM])
        with pytest.raises(exception.SupervisorFault,
                           match="refused to start %s: SPAWN_ERROR" % KVM):
            lifecycle._restart(conf, [DOCKER, KVM], lambda _line: None, "why")  # noqa: SLF001

    def test_stopping_an_unknown_group_is_raised(self, tmp_path, monkeypatch):
        conf, _ = self._supervisor(tmp_path, monkeypatch, {DOCKER: "RUNNING"})
        with pytest.raises(exception.SupervisorFault, match="stop control-plane: BAD_NAME"):
            lifecycle._stop_group(conf, "control-plane", False)  # noqa: SLF001

    def test_starting_tolerates_a_running_program_but_not_a_missing_command(
            self, tmp_path, monkeypatch):
        conf, supervisor = self._supervisor(tmp_path, monkeypatch,
                                            {DOCKER: "RUNNING", KVM: "STOPPED"},
                                            no_file=[KVM])
        lifecycle._start_programs(conf, [DOCKER])  # noqa: SLF001
        with pytest.raises(exception.SupervisorFault, match="start %s: NO_FILE" % KVM):
            lifecycle._start_programs(conf, [DOCKER, KVM])  # noqa: SLF001
        assert [p.state for p in supervisor.programs()] == ["RUNNING", "STOPPED"]


class TestHealth:
    def _plan(self, tmp_path):
        return box_plan.build(confutils.load(tmp_path))

    def test_healthy_box_has_no_problem(self, tmp_path):
        plan = self._plan(tmp_path)
        health = lifecycle.Health(
            computes=(("box-docker", "up", "enabled"), ("box-kvm", "up", "enabled")),
            hypervisors=(("box-docker", "up"), ("box", "up")),
            agents=(("Open vSwitch agent", "box-kvm", True), ("DHCP agent", "box-kvm", True)))
        assert health.problems(plan) == []

    def test_a_second_ovs_agent_or_a_down_compute_is_a_problem(self, tmp_path):
        plan = self._plan(tmp_path)
        health = lifecycle.Health(
            computes=(("box-docker", "down", "enabled"), ("box-kvm", "up", "enabled")),
            hypervisors=(("box", "up"),),
            agents=(("Open vSwitch agent", "box-kvm", True),
                    ("Open vSwitch agent", "box-docker", True)))
        problems = health.problems(plan)
        assert "nova-compute box-docker is not up" in problems
        assert "hypervisor box-docker is not registered" in problems
        assert any("exactly one live Open vSwitch agent" in p for p in problems)
        assert "no live DHCP agent" not in problems
        assert "no live DHCP agent" in health.problems(plan, dhcp_agent=True)

    def test_wait_healthy_reports_each_change_once_then_returns(self, tmp_path, monkeypatch):
        answers = iter([["nova-compute box-docker is not up"]] * 2 + [[]])
        monkeypatch.setattr(lifecycle, "health", lambda _conn: mock.Mock(
            problems=lambda _plan, _dhcp, _l3=False: next(answers)))
        monkeypatch.setattr(time, "sleep", lambda _s: None)
        said = []
        lifecycle.wait_healthy(None, self._plan(tmp_path), said.append)
        assert said == ["waiting: nova-compute box-docker is not up",
                        "both nova-computes, their hypervisors and the OVS agent are up"]

    def test_wait_healthy_times_out_naming_what_is_wrong(self, tmp_path, monkeypatch):
        monkeypatch.setattr(lifecycle, "health", lambda _conn: mock.Mock(
            problems=lambda _plan, _dhcp, _l3=False: ["no live DHCP agent"]))
        monkeypatch.setattr(time, "sleep", lambda _s: None)
        with pytest.raises(exception.StartTimeout, match="no live DHCP agent"):
            lifecycle.wait_healthy(None, self._plan(tmp_path), lambda _m: None, True,
                                   timeout=0)


class TestAccessFiles:
    def test_openrc_and_clouds_yaml_are_0600_and_agree(self, tmp_path):
        conf = confutils.load(tmp_path)
        secrets, _ = lab_state.ensure_secrets(conf)
        assert len(access.write(conf, secrets)) == 2
        assert access.write(conf, secrets) == []
        lay = lab_state.layout(conf)
        for path in (lay.openrc, lay.clouds_yaml):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        cloud = yaml.safe_load(open(lay.clouds_yaml))["clouds"][access.CLOUD_NAME]
        assert cloud["auth"]["password"] == secrets["admin"]
        assert "export OS_PASSWORD=%s" % secrets["admin"] in open(lay.openrc).read()
        assert cloud["auth"]["auth_url"] == "http://127.0.0.1:5000/v3"


class TestCommandLine:
    def _run(self, capsys, *argv):
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    def test_bad_lab_option_is_one_line_exit_2(self, tmp_path, capsys):
        path = confutils.write_conf(tmp_path, "[lab]\nenabled = true\n"
                                              "tenant_cidr = 300.1.1.0/24\n")
        code, _out, err = self._run(capsys, "--config-file", path, "lab", "up")
        assert code == 2
        assert "[lab] tenant_cidr" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
        assert not lab_state.exists(confutils.load(tmp_path))

    def test_lab_up_needs_the_lab_enabled(self, tmp_path, capsys):
        path = confutils.write_conf(tmp_path)
        code, _out, err = self._run(capsys, "--config-file", path, "lab", "up")
        assert code == 2 and "[lab] enabled" in err and "Traceback" not in err
        assert not lab_state.exists(confutils.load(tmp_path))

    def test_lab_up_without_the_database_driver_says_so_and_changes_nothing(
            self, tmp_path, capsys, monkeypatch):
        real_find_spec = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
            None if name == "MySQLdb" else real_find_spec(name, *a)))
        path = confutils.write_conf(tmp_path, "[lab]\nenabled = true\n")
        code, _out, err = self._run(capsys, "--config-file", path, "lab", "up")
        assert code == 1 and "Traceback" not in err
        assert "mysqlclient" in err and "tools/install.sh" in err
        assert not lab_state.exists(confutils.load(tmp_path))

    def test_purge_needs_confirmation(self, tmp_path, capsys):
        path = confutils.write_conf(tmp_path)
        code, _out, err = self._run(capsys, "--config-file", path, "lab", "purge")
        assert code == 2 and "--yes" in err

    def test_status_without_a_lab_says_how_to_make_one(self, tmp_path, capsys):
        path = confutils.write_conf(tmp_path)
        code, _out, err = self._run(capsys, "--config-file", path, "lab", "status")
        assert code == 2 and "hybridhost lab up" in err

    def test_lab_without_subcommand_prints_help(self, tmp_path, capsys):
        code, out, _err = self._run(capsys, "lab")
        assert code == 2 and "up" in out and "purge" in out

    @pytest.mark.parametrize("sub", ["up", "status", "down", "purge"])
    def test_every_subcommand_has_help(self, capsys, sub):
        with pytest.raises(SystemExit) as caught:
            cli.main(["lab", sub, "--help"])
        assert caught.value.code == 0
