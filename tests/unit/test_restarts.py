"""Which programs a changed rendered file concerns (hybridhost.restarts)."""

import pytest

from hybridhost import exception
from hybridhost import restarts
from tests.unit import fakes

PROGRAMS = """
[group:control-plane]
programs = keystone,nova-api,nova-conductor

[program:keystone]
command = /venv/bin/uwsgi --module keystone.wsgi.api:application
environment = OS_KEYSTONE_CONFIG_DIR="/etc/hh/conf/lab/keystone"

[program:nova-api]
command = /venv/bin/uwsgi --module nova.wsgi.osapi_compute:application
environment = OS_NOVA_CONFIG_DIR="/etc/hh/conf/lab/nova",OS_NOVA_CONFIG_FILES="a;b"

[program:nova-conductor]
command = /venv/bin/nova-conductor --config-file /etc/hh/conf/lab/nova/nova.conf
"""


class TestProgramsUsing:
    def test_programs_reading_a_changed_file_or_directory_are_found(self):
        found = restarts.programs_using([PROGRAMS], ["/etc/hh/conf/lab/nova/nova.conf"])
        assert found == ["control-plane:nova-api", "control-plane:nova-conductor"]

    def test_a_file_nobody_reads_restarts_nothing(self):
        assert restarts.programs_using([PROGRAMS], ["/etc/hh/conf/other.conf"]) == []

    def test_the_watcher_event_listener_reads_its_file_too(self):
        listener = ("[eventlistener:hybridhost-watcher]\ncommand = /venv/bin/hybridhost-watcher"
                    " --config-file /etc/hh/conf/watcher.conf\n")
        found = restarts.programs_using([PROGRAMS, listener], ["/etc/hh/conf/watcher.conf"])
        assert found == ["hybridhost-watcher:hybridhost-watcher"]

    def test_a_prefix_of_a_path_does_not_match(self):
        assert restarts.programs_using([PROGRAMS], ["/etc/hh/conf/lab/key"]) == []


class TestChangedPrograms:
    @pytest.fixture
    def config_dir(self, tmp_path):
        (tmp_path / "supervisord.d").mkdir()
        (tmp_path / "supervisord.d" / "lab.conf").write_text(
            PROGRAMS.replace("/etc/hh", str(tmp_path)))
        (tmp_path / "supervisord.d" / "notes.txt").write_text("[program:x]\ncommand = x\n")
        return str(tmp_path)

    def test_paths_are_relative_to_the_config_dir(self, config_dir):
        assert restarts.changed_programs(config_dir, ["conf/lab/nova/nova.conf"], set()) == [
            "control-plane:nova-api", "control-plane:nova-conductor"]

    def test_a_group_supervisord_just_restarted_is_left_alone(self, config_dir):
        assert restarts.changed_programs(
            config_dir, ["conf/lab/nova/nova.conf"], {"control-plane"}) == []


class TestRestart:
    def test_each_program_gets_a_new_process_and_one_line(self):
        client = fakes.FakeSupervisorClient({"g:a": "RUNNING", "g:b": "STOPPED"})
        before = {p.full_name: p.pid for p in client.programs()}
        said = []
        assert restarts.restart(client, ["g:a", "g:b"], said.append, "why") == ["g:a", "g:b"]
        after = {p.full_name: p for p in client.programs()}
        assert after["g:a"].running and after["g:a"].pid != before["g:a"]
        assert after["g:b"].running   # NOT_RUNNING on its stop is no error
        assert said == ["restarted g:a, g:b (why)"]

    def test_nothing_to_restart_says_nothing(self):
        said = []
        restarts.restart(fakes.FakeSupervisorClient({}), [], said.append, "why")
        assert said == []

    def test_a_spawn_error_is_raised_naming_the_program(self):
        client = fakes.FakeSupervisorClient({"g:a": "RUNNING"}, cannot_spawn=["g:a"])
        with pytest.raises(exception.SupervisorFault) as caught:
            restarts.restart(client, ["g:a"], lambda _line: None, "why")
        assert str(caught.value) == "supervisord refused to start g:a: SPAWN_ERROR"
