"""One way up (box.up), as 'hybridhost up' and 'hybridhost lab up' use it."""

import re

import pytest

from hybridhost import box
from hybridhost import exception
from hybridhost import progress as progress_lines
from hybridhost.cmd import main as cli
from tests.unit import confutils
from tests.unit import fakes

AGENT = "hybridhost:neutron-openvswitch-agent"
DOCKER = "hybridhost:nova-compute-docker"
KVM = "hybridhost:nova-compute-kvm"
# No host services: prepare() must not touch the machine's Open vSwitch.
CONF = """
[host]
manage_services = false

[ovs]
run_dir = {tmp}/ovs
of_listen_port = %d
"""


class Box:
    """A box rendered once and 'running' under the fake supervisord."""

    def __init__(self, tmp_path, monkeypatch, **faults):
        self.tmp_path = tmp_path
        self.conf = self.load(6633)
        plan, _changed = box.render_to_disk(self.conf)
        box.restart_if_code_changed(self.conf, plan)  # records the code running
        self.supervisor = fakes.FakeSupervisorClient(
            {AGENT: "RUNNING", DOCKER: "RUNNING", KVM: "RUNNING"}, **faults)
        monkeypatch.setattr(box, "client_for", lambda _conf, timeout=10: self.supervisor)
        self.lines = []
        self.progress = progress_lines.Progress(self.lines.append)

    def load(self, of_listen_port):
        return confutils.load(self.tmp_path, (CONF % of_listen_port).format(
            tmp=self.tmp_path))

    def conf_path(self, of_listen_port):
        return confutils.write_conf(self.tmp_path, (CONF % of_listen_port).format(
            tmp=self.tmp_path))

    def pids(self):
        return {p.full_name: p.pid for p in self.supervisor.programs()}

    def said(self):
        return [re.sub(r"^\[ *\d+\.\ds\] ", "", line) for line in self.lines]


class TestUp:
    def test_a_program_reading_a_changed_file_is_restarted_alone(
            self, tmp_path, monkeypatch):
        hh = Box(tmp_path, monkeypatch)
        before = hh.pids()
        result = box.up(hh.load(6634), hh.progress)
        assert result.changed_files == ("conf/neutron-openvswitch-agent.conf",)
        assert result.restarted_groups == frozenset()
        assert result.restarted == (AGENT,)
        after = hh.pids()
        assert after[AGENT] != before[AGENT]
        assert (after[DOCKER], after[KVM]) == (before[DOCKER], before[KVM])
        assert "restarted %s (their configuration changed)" % AGENT in hh.said()

    def test_new_code_and_a_changed_file_restart_the_docker_side_once(
            self, tmp_path, monkeypatch):
        hh = Box(tmp_path, monkeypatch)
        monkeypatch.setattr(box, "code_fingerprint", lambda: "new code")
        conf = hh.load(6633)
        conf.set_override("docker_vcpus", 1, group="host")
        calls = []
        restart = hh.supervisor.restart
        monkeypatch.setattr(hh.supervisor, "restart",
                            lambda name: calls.append(name) or restart(name))
        result = box.up(conf, hh.progress)
        assert "conf/nova-docker.conf" in result.changed_files
        assert calls.count(DOCKER) == 1
        assert DOCKER in result.restarted
        assert not [line for line in hh.said() if "code changed" in line]

    def test_nothing_changed_restarts_nothing(self, tmp_path, monkeypatch):
        hh = Box(tmp_path, monkeypatch)
        before = hh.pids()
        result = box.up(hh.conf, hh.progress)
        assert (result.changed_files, result.restarted) == ((), ())
        assert hh.pids() == before
        assert hh.said() == [
            "rendered %s/etc (0 file(s) changed)" % tmp_path,
            "supervisord already running; groups added -, changed -, removed -"]

    def test_a_changed_group_is_reloaded_by_a_client_that_waits_out_its_stop(
            self, tmp_path, monkeypatch):
        """supervisord answers the reload only once the changed group has stopped: a
        nova-compute stops in tens of seconds (seen: 'not answering ... timed out')."""
        hh = Box(tmp_path, monkeypatch)
        reloads = []

        class Recording:
            def __init__(self, timeout):
                self.timeout = timeout

            def __getattr__(self, name):
                if name == "reload_config":
                    reloads.append(self.timeout)
                return getattr(hh.supervisor, name)

        monkeypatch.setattr(box, "client_for", lambda _conf, timeout=10: Recording(timeout))
        box.up(hh.load(6634), hh.progress)
        assert len(reloads) == 1 and reloads[0] > hh.conf.supervisor.stop_timeout

    def test_a_spawn_error_on_the_restart_is_raised_naming_the_program(
            self, tmp_path, monkeypatch):
        hh = Box(tmp_path, monkeypatch, cannot_spawn=[AGENT])
        with pytest.raises(exception.SupervisorFault) as caught:
            box.up(hh.load(6634), hh.progress)
        assert str(caught.value) == ("supervisord refused to start %s: SPAWN_ERROR" % AGENT)

    def test_stopped_programs_are_started_unless_the_caller_starts_them(
            self, tmp_path, monkeypatch):
        hh = Box(tmp_path, monkeypatch)
        hh.supervisor.stop(KVM)
        box.up(hh.conf, hh.progress, start_stopped=False)
        assert not {p.full_name: p for p in hh.supervisor.programs()}[KVM].running
        box.up(hh.conf, hh.progress)
        assert {p.full_name: p for p in hh.supervisor.programs()}[KVM].running


class TestCommandLine:
    def test_up_restarts_what_changed_and_prints_the_same_lines(
            self, tmp_path, monkeypatch, capsys):
        hh = Box(tmp_path, monkeypatch)
        before = hh.pids()
        assert cli.main(["--config-file", hh.conf_path(6634), "up", "--wait", "5"]) == 0
        out, err = capsys.readouterr()
        assert hh.pids()[AGENT] != before[AGENT]
        assert all(re.match(r"\[ *\d+\.\ds\] ", line) for line in out.splitlines())
        said = [re.sub(r"^\[ *\d+\.\ds\] ", "", line) for line in out.splitlines()]
        assert said == [
            "rendered %s/etc (1 file(s) changed)" % tmp_path,
            "supervisord already running; groups added -, changed -, removed -",
            "restarted %s (their configuration changed)" % AGENT,
            "%-45s RUNNING" % AGENT, "%-45s RUNNING" % DOCKER, "%-45s RUNNING" % KVM,
            "box box is up: 3 program(s) RUNNING"]
        assert err == ""

    def test_a_spawn_error_is_one_line_exit_1(self, tmp_path, monkeypatch, capsys):
        hh = Box(tmp_path, monkeypatch, cannot_spawn=[AGENT])
        assert cli.main(["--config-file", hh.conf_path(6634), "up"]) == 1
        _out, err = capsys.readouterr()
        assert err == ("hybridhost up: error: supervisord refused to start %s: SPAWN_ERROR\n"
                       % AGENT)
