"""``hybridhost status`` and ``hybridhost lab status`` with the ledger, through a fake
supervisord and a fake openstacksdk connection: the table, the JSON, and use unknown
(never a traceback, the exit codes as without the ledger)."""

import json
import types

from keystoneauth1 import exceptions as ks_exceptions
import pytest

from hybridhost import box
from hybridhost import lab_state
from hybridhost import plan as box_plan
from hybridhost.cmd import box as box_cmd
from hybridhost.cmd import main as cli
from hybridhost.lab import bootstrap
from hybridhost.lab import lifecycle
from tests.unit import confutils
from tests.unit import fakes as box_fakes
from tests.unit.ledger import fakes

RUNNING = {"hybridhost:nova-compute-docker": "RUNNING",
           "hybridhost:nova-compute-kvm": "RUNNING"}
HEADER = "SIDE    PROVIDER    RESOURCE   UNIT  CAPACITY  USED   FREE  PLAN (offer x ratio)"
# The example box's sides have 4 vCPU each: every demo flavor fits.
ROOM = ["room on docker: 95 hh.container.tiny (limit DISK_GB), 60 hh.container (limit "
        "MEMORY_MB), 15 hh.container.large (limit MEMORY_MB).",
        "room on kvm: 16 hh.vm (limit VCPU), 8 hh.vm.large (limit VCPU)."]


# These tests are about the ledger: without a watcher the programs' health is their state.
NO_WATCHER = "[watcher]\nenabled = false\n"


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _supervisor(monkeypatch, states):
    fake = box_fakes.FakeSupervisorClient(states)
    monkeypatch.setattr(box, "client_for", lambda conf, timeout=10: fake)
    return fake


def _placement(monkeypatch, tmp_path, **kwargs):
    plan = box_plan.build(confutils.load(tmp_path, NO_WATCHER))
    conn = fakes.FakeConnection(fakes.as_rendered(plan, {"docker": {"VCPU": 1}}), **kwargs)
    monkeypatch.setattr(box_cmd, "placement_connection", lambda conf: conn)
    return conn


class TestBoxStatus:
    @pytest.fixture
    def path(self, tmp_path):
        return confutils.write_conf(tmp_path, NO_WATCHER)

    def test_programs_then_the_ledger(self, monkeypatch, capsys, tmp_path, path):
        _supervisor(monkeypatch, RUNNING)
        conn = _placement(monkeypatch, tmp_path)
        code, out, err = _run(capsys, "--config-file", path, "status")
        assert code == 0 and err == ""
        lines = out.splitlines()
        assert lines[0].startswith("PART") and lines[4] == "box: healthy"
        assert lines[5] == "" and lines[6] == HEADER
        assert lines[7].split()[:7] == ["docker", "box-docker", "VCPU", "vCPU", "512", "1",
                                        "511"]
        assert lines[-1] == "placement holds what the plan says (CAPACITY = offer x ratio)."
        assert conn.closed

    def test_json_holds_the_ledger(self, monkeypatch, capsys, tmp_path, path):
        _supervisor(monkeypatch, RUNNING)
        _placement(monkeypatch, tmp_path)
        code, out, _ = _run(capsys, "--config-file", path, "status", "--json")
        data = json.loads(out)
        assert code == 0 and data["supervisord"] == "RUNNING" and len(data["programs"]) == 2
        ledger = data["ledger"]
        assert ledger["placement"] == "read" and ledger["problems"] == []
        assert [(r["side"], r["resource"], r["capacity"], r["used"]) for r in
                ledger["resources"]][:2] == [("docker", "VCPU", 512, 1),
                                             ("docker", "MEMORY_MB", 15360, 0)]
        assert ledger["room"] == []

    def test_unreachable_placement_is_one_line_and_the_exit_code_stays(
            self, monkeypatch, capsys, tmp_path, path):
        _supervisor(monkeypatch, dict(RUNNING, **{"hybridhost:nova-compute-kvm": "FATAL"}))
        _placement(monkeypatch, tmp_path, fails=ks_exceptions.ConnectFailure(
            "Unable to establish connection to http://cloud:5000/v3/auth/tokens"))
        code, out, err = _run(capsys, "--config-file", path, "status")
        assert code == 2 and "Traceback" not in out + err
        notes = [line for line in out.splitlines() if line.startswith("use unknown")]
        assert notes == ["use unknown: placement cannot be read: Unable to establish "
                         "connection to http://cloud:5000/v3/auth/tokens. The table shows "
                         "the plan only: what each side offers placement x its allocation "
                         "ratio."]
        assert "docker  box-docker  VCPU       vCPU         ?     ?     ?  4 x 128 = 512" \
            in out.splitlines()

    def test_without_credentials_the_plan_and_why(self, monkeypatch, capsys, path):
        _supervisor(monkeypatch, RUNNING)
        code, out, _ = _run(capsys, "--config-file", path, "status", "--json")
        ledger = json.loads(out)["ledger"]
        assert code == 0 and ledger["placement"] == "unknown"
        assert "[openstack] password is not set" in ledger["unknown"]
        assert [r["planned"] for r in ledger["resources"]] == [512, 15360, 95, 16, 15360, 95]

    def test_supervisord_down_still_shows_the_ledger_exit_2(self, monkeypatch, capsys,
                                                             tmp_path, path):
        _placement(monkeypatch, tmp_path)
        code, out, err = _run(capsys, "--config-file", path, "status")
        assert code == 2 and "hybridhost up" in err
        lines = out.splitlines()
        assert lines[1].split()[:3] == ["supervisord", "unreachable", "down"]
        assert lines[2] == "box: down" and lines[4] == HEADER

    def test_a_configuration_the_plan_refuses_still_shows_the_programs(
            self, monkeypatch, capsys, tmp_path):
        path = confutils.write_conf(tmp_path, "[host]\nreserved_vcpus = 9\n" + NO_WATCHER)
        _supervisor(monkeypatch, RUNNING)
        code, out, _ = _run(capsys, "--config-file", path, "status")
        assert code == 0 and "hybridhost:nova-compute-kvm" in out
        assert out.splitlines()[-1].startswith("no capacity ledger: capacity: ")

    def test_with_the_lab_the_lab_admin_reads_and_room_is_counted(self, monkeypatch, capsys,
                                                                   tmp_path):
        path = confutils.write_conf(tmp_path, "[lab]\nenabled = true\n" + NO_WATCHER)
        conf = confutils.load(tmp_path, "[lab]\nenabled = true\n" + NO_WATCHER)
        lab_state.ensure_secrets(conf)
        _supervisor(monkeypatch, RUNNING)
        plan = box_plan.build(conf)
        used = []
        monkeypatch.setattr(bootstrap, "admin_connection", lambda conf, secrets: used.append(
            secrets["admin"]) or fakes.FakeConnection(fakes.as_rendered(plan)))
        code, out, _ = _run(capsys, "--config-file", path, "status")
        assert code == 0 and used == [lab_state.load_secrets(conf)["admin"]]
        assert out.splitlines()[-2:] == ROOM

    def test_lab_enabled_but_not_made_yet(self, monkeypatch, capsys, tmp_path):
        path = confutils.write_conf(tmp_path, "[lab]\nenabled = true\n" + NO_WATCHER)
        _supervisor(monkeypatch, RUNNING)
        code, out, _ = _run(capsys, "--config-file", path, "status")
        assert code == 0
        assert "use unknown: placement cannot be read: [lab] is enabled and there is no lab " \
               "yet ('hybridhost lab up')." in out


class FakeCompute:
    def services(self):
        return [types.SimpleNamespace(binary="nova-compute", host=host, state="up",
                                      status="enabled") for host in ("box-docker", "box-kvm")]

    def hypervisors(self):
        return [types.SimpleNamespace(name=name, state="up") for name in ("box-docker", "box")]


class FakeNetwork:
    def agents(self):
        return [types.SimpleNamespace(agent_type="Open vSwitch agent", host="box-kvm",
                                      is_alive=True)]


class TestLabStatus:
    EXTRA = "[lab]\nenabled = true\nl3_agent = false\n"

    @pytest.fixture
    def path(self, tmp_path):
        lab_state.ensure_secrets(confutils.load(tmp_path, self.EXTRA))
        return confutils.write_conf(tmp_path, self.EXTRA)

    def _lab(self, monkeypatch, tmp_path, **kwargs):
        plan = box_plan.build(confutils.load(tmp_path, self.EXTRA))
        conn = fakes.FakeConnection(fakes.as_rendered(plan), compute=FakeCompute(),
                                    network=FakeNetwork(), **kwargs)
        monkeypatch.setattr(lifecycle.bootstrap, "admin_connection",
                            lambda conf, secrets: conn)
        _supervisor(monkeypatch, RUNNING)
        return conn

    def test_health_then_the_ledger_and_the_room(self, monkeypatch, capsys, tmp_path, path):
        conn = self._lab(monkeypatch, tmp_path)
        code, out, _ = _run(capsys, "--config-file", path, "lab", "status")
        lines = out.splitlines()
        assert code == 0 and conn.closed
        agent = next(i for i, line in enumerate(lines) if line.startswith("agent "))
        assert lines.index(HEADER) == agent + 2
        assert lines[-2:] == ROOM

    def test_json_holds_the_ledger(self, monkeypatch, capsys, tmp_path, path):
        self._lab(monkeypatch, tmp_path)
        code, out, _ = _run(capsys, "--config-file", path, "lab", "status", "--json")
        data = json.loads(out)
        assert code == 0 and data["health"]["computes"]
        assert data["ledger"]["placement"] == "read"
        assert {r["flavor"]: r["count"] for r in data["ledger"]["room"]} == {
            "hh.container.tiny": 95, "hh.container": 60, "hh.container.large": 15,
            "hh.vm": 16, "hh.vm.large": 8}

    def test_placement_failing_alone_leaves_health_and_exit_code(self, monkeypatch, capsys,
                                                                  tmp_path, path):
        self._lab(monkeypatch, tmp_path, fails=ks_exceptions.ServiceUnavailable(
            "placement is restarting"))
        code, out, _ = _run(capsys, "--config-file", path, "lab", "status")
        assert code == 0 and "alive (Open vSwitch agent)" in out
        assert "use unknown: placement cannot be read: placement is restarting (HTTP 503)." \
            in out

    def test_lab_down_json_has_the_plan_side(self, monkeypatch, capsys, tmp_path, path):
        monkeypatch.setattr(box, "client_for", lambda conf, timeout=10: _down())
        code, out, _ = _run(capsys, "--config-file", path, "lab", "status", "--json")
        ledger = json.loads(out)["ledger"]
        assert code == 3
        assert ledger["unknown"] == "the lab is down (supervisord is not running)"


def _down():
    fake = box_fakes.FakeSupervisorClient({})
    fake.shutdown()
    return fake
