"""No command the lab's bootstrap runs carries a password in its argv: every user of the
box can read a process's command line (``ps``), only its owner its environment."""

import os

import pytest

from hybridhost import lab_state
from hybridhost import plan as box_plan
from hybridhost import runner
from hybridhost.lab import bootstrap
from hybridhost.render import control_plane
from tests.unit import confutils


class RecordingRunner:
    """Stands in for ``runner.run``: records every call, answers as nova-manage would."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv, **kwargs):
        self.calls.append((list(argv), kwargs))
        return ""


@pytest.fixture
def lab(tmp_path, monkeypatch):
    conf = confutils.load(tmp_path)
    os.makedirs(lab_state.layout(conf).root, exist_ok=True)
    secrets, _ = lab_state.ensure_secrets(conf)
    recorder = RecordingRunner()
    monkeypatch.setattr(runner, "run", recorder)
    return conf, box_plan.build(conf), secrets, recorder


def _every_step(conf, plan, secrets):
    bootstrap.prepare_directories(conf)
    bootstrap.install_mariadb_datadir(conf)
    bootstrap.create_databases(conf, plan, secrets)
    bootstrap.keystone_keys(plan, conf)
    bootstrap.sync_schemas(conf, plan, secrets)
    bootstrap.keystone_bootstrap(conf, plan, secrets)


def test_no_argv_holds_a_secret(lab):
    conf, plan, secrets, recorder = lab
    _every_step(conf, plan, secrets)
    assert len(recorder.calls) > 10
    for argv, _ in recorder.calls:
        for name, secret in secrets.items():
            assert not any(secret in arg for arg in argv), (name, argv[:3])


def test_the_keystone_admin_password_goes_in_the_environment(lab):
    conf, plan, secrets, recorder = lab
    bootstrap.keystone_bootstrap(conf, plan, secrets)
    (argv, kwargs), = recorder.calls
    assert "bootstrap" in argv and "--bootstrap-password" not in argv
    assert kwargs["secret_env"] == {"OS_BOOTSTRAP_PASSWORD": secrets["admin"]}


def test_sql_with_passwords_goes_on_standard_input(lab):
    conf, plan, secrets, recorder = lab
    bootstrap.create_databases(conf, plan, secrets)
    (argv, kwargs), = recorder.calls
    assert secrets["nova_db"] in kwargs["input_text"]
    assert set(kwargs["secrets"]) == set(secrets.values())


def test_cell0_is_mapped_from_the_config_file(lab):
    conf, plan, secrets, recorder = lab
    bootstrap.setup_cells(conf, plan, secrets)
    map_cell0 = [argv for argv, _ in recorder.calls if "map_cell0" in argv]
    assert map_cell0 and "--database_connection" not in map_cell0[0]


def test_no_program_command_line_holds_a_secret(lab):
    """supervisord starts the lab's programs with these argvs (the passwords are in their
    configuration files)."""
    conf, plan, secrets, _ = lab
    commands = [line for line in control_plane.render_program_file(conf, plan).splitlines()
                if line.startswith("command")]
    assert len(commands) > 5
    for line in commands:
        assert not any(secret in line for secret in secrets.values()), line
