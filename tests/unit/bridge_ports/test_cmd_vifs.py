"""``hybridhost vifs``: output, JSON, exit codes and --repair, on a fake box."""

import json

from oslo_config import cfg
import pytest

from hybridhost import exception
from hybridhost.bridge_ports import sources
from hybridhost.cmd import main as cli
from hybridhost.cmd import vifs as vifs_cmd
import hybridhost.privileged
from tests.unit import confutils
from tests.unit.bridge_ports import fake_box
from tests.unit.bridge_ports.fake_box import FOREIGN
from tests.unit.bridge_ports.fake_box import SPEC_A
from tests.unit.bridge_ports.fake_box import SPEC_B
from tests.unit.bridge_ports.fake_box import TAP
from tests.unit.bridge_ports.fake_box import UUID_A
from tests.unit.bridge_ports.fake_box import UUID_B

COLUMNS = "PORT  OWNER  INSTANCE  TAG  OFPORT  LINK  NETNS  PROBLEM"
NAME_A, NAME_B = SPEC_A.host_ifname, SPEC_B.host_ifname


@pytest.fixture
def world(tmp_path):
    return fake_box.FakeBox(str(tmp_path / "instances"))


@pytest.fixture
def run(tmp_path, monkeypatch, capsys, world):
    """``hybridhost --config-file <tmp conf> vifs ARGS`` -> (exit code, stdout, stderr)."""
    path = confutils.write_conf(tmp_path)
    seen = {}

    def connect(cls, settings):
        seen["settings"] = settings
        return world.box

    monkeypatch.setattr(sources.LiveBox, "connect", classmethod(connect))
    monkeypatch.setattr(vifs_cmd, "use_privsep_helper",
                        lambda bin_dir, config_file: seen.update(bin=bin_dir, conf=config_file))

    def _run(*args):
        code = cli.main(["--config-file", path, "vifs", *args])
        out, err = capsys.readouterr()
        return code, out, err

    _run.seen = seen
    return _run


def _squeeze(line):
    return " ".join(line.split())


def _line(out, port):
    return next(line for line in out.splitlines() if line.startswith(port + " "))


def test_settings_come_from_hybridhost_conf_and_the_plan(run, tmp_path):
    """The Docker side's host is the owner; its instances path holds the saved specs."""
    run()
    settings = run.seen["settings"]
    assert (settings.owner, settings.bridge, settings.prefix) == ("box-docker", "br-int", "hhd")
    assert settings.instances_path == str(tmp_path / "state" / "nova-docker" / "instances")
    assert settings.docker_url == "unix:///var/run/docker.sock"
    assert run.seen["bin"] == "/venv/bin"
    assert run.seen["conf"] == str(tmp_path / "etc" / "conf" / "nova-docker.conf")


def test_healthy_box_exit_0_with_the_table(run, world):
    world.spawn(UUID_A, SPEC_A)
    fake_box.with_foreign(world)
    code, out, _ = run()
    lines = out.splitlines()
    assert code == 0
    assert _squeeze(lines[0]) == _squeeze(COLUMNS)
    assert _squeeze(lines[1]) == "br-int agent - - 65534 up - -"
    assert _squeeze(_line(out, NAME_A)) == "%s docker %s 1 1 up yes -" % (NAME_A, UUID_A)
    assert lines[-1] == ("br-int: 5 ports (docker 1, libvirt 1, agent 2, unknown 1); "
                         "no problems.")


def test_problems_exit_1_each_named_in_its_row(run, world):
    world.spawn(UUID_A, SPEC_A)
    fake_box.with_foreign(world, broken=True)
    del world.ovs.ports[NAME_A]
    code, out, _ = run()
    assert code == 1
    tap = _line(out, TAP)
    assert "dead-vlan: tag 4095" in tap and "no-ofport" in tap
    assert _line(out, NAME_A).endswith("vif-missing: its instance runs, this VIF has no port "
                                       "on br-int (--repair: replug)")
    assert out.splitlines()[-1].endswith(
        "5 problem(s), 1 repairable with 'hybridhost vifs --repair'.")


def test_json(run, world):
    world.spawn(UUID_A, SPEC_A)
    world.net.veths[NAME_A]["ifname"] = "eth9"
    code, out, _ = run("--json")
    data = json.loads(out)
    assert code == 1
    assert (data["bridge"], data["owner"], data["problems"]) == ("br-int", "box-docker", 1)
    assert data["ports"] == [{
        "port": NAME_A, "owner": "docker", "instance": UUID_A, "tag": 1, "ofport": 1,
        "link": "up", "netns": "no", "on_bridge": True,
        "problems": [{"code": "vif-broken", "detail": "the container's end is gone or down",
                      "repair": "replug"}]}]
    assert "repairs" not in data


def test_repair_fixes_ours_says_what_and_exits_0(run, world):
    world.spawn(UUID_A, SPEC_A)
    world.spawn(UUID_B, SPEC_B)
    fake_box.with_foreign(world)
    del world.ovs.ports[NAME_A]
    world.client.kill(world.engine.get(UUID_B).id)
    code, out, _ = run("--repair")
    lines = out.splitlines()
    assert code == 0
    assert lines[:3] == ["before: 2 problem(s) on br-int",
                         "removed %s (instance %s)" % (NAME_B, UUID_B),
                         "re-plugged %s (instance %s)" % (NAME_A, UUID_A)]
    assert lines[-1].endswith("no problems.")


def test_repair_leaves_foreign_problems_and_exits_1(run, world):
    world.spawn(UUID_A, SPEC_A)
    fake_box.with_foreign(world, broken=True)
    before = world.foreign_state(FOREIGN)
    code, out, _ = run("--repair", "--json")
    data = json.loads(out)
    assert code == 1
    assert data["repairs"] == []
    assert {p["port"] for p in data["ports"] if p["problems"]} == {TAP, "patch-tun", "eth7"}
    assert world.foreign_state(FOREIGN) == before


def test_repair_reports_a_failure(run, world, monkeypatch):
    world.spawn(UUID_A, SPEC_A)
    del world.ovs.ports[NAME_A]

    def refuse(action):
        raise exception.VifRepairRefused(port=action.port, reason="no")

    monkeypatch.setattr(world.box, "apply", refuse)
    code, out, _ = run("--repair")
    assert code == 1
    assert "FAILED to replug %s: Not repairing %s: no" % (NAME_A, NAME_A) in out
    assert out.splitlines()[-1].endswith("1 problem(s) left.")


def test_an_unreachable_daemon_is_a_short_error(run, monkeypatch):
    def connect(cls, settings):
        raise exception.DockerUnavailable(url=settings.docker_url, reason="refused")

    monkeypatch.setattr(sources.LiveBox, "connect", classmethod(connect))
    code, out, err = run()
    assert code == 1 and out == ""
    assert err.startswith("hybridhost vifs: error: ") and "refused" in err


def test_notes_are_printed(run, world):
    world.spawn(UUID_A, SPEC_A)

    def failing(*args):
        raise OSError("no helper")

    world.net.veth_intact = failing
    code, out, _ = run()
    assert code == 0
    assert out.splitlines()[-1] == ("note: could not check the containers' namespaces: "
                                    "no helper")


def test_help_says_what_repair_never_touches(capsys):
    with pytest.raises(SystemExit):
        cli.main(["vifs", "--help"])
    out = capsys.readouterr().out
    assert "--repair" in out and "never touches libvirt's" in out


@pytest.fixture
def helper_section():
    section = hybridhost.privileged.net_admin.cfg_section
    yield cfg.CONF[section]
    cfg.CONF.clear_override("helper_command", group=section)


def test_the_helper_reads_the_docker_sides_config_when_there_is_one(tmp_path, helper_section):
    """It finds the VIF prefix there, as nova-compute-docker's helper does."""
    nova_conf = tmp_path / "nova-docker.conf"
    vifs_cmd.use_privsep_helper("/venv/bin", str(nova_conf))
    assert not helper_section.helper_command.endswith(str(nova_conf))
    nova_conf.write_text("[hybridhost_docker]\nvif_prefix = ctr\n")
    vifs_cmd.use_privsep_helper("/venv/bin", str(nova_conf))
    assert helper_section.helper_command.endswith("/venv/bin/privsep-helper --config-file %s"
                                                  % nova_conf)
