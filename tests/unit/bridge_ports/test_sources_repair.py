"""The live-box adapter and the repair run, on the Docker driver's fakes."""

import os
import threading
import types

import pytest

from hybridhost import exception
from hybridhost.bridge_ports import audit
from hybridhost.bridge_ports import repair
from hybridhost.bridge_ports import sources
from tests.unit.bridge_ports import fake_box

UUID_A, UUID_B = fake_box.UUID_A, fake_box.UUID_B
SPEC_A, SPEC_B = fake_box.SPEC_A, fake_box.SPEC_B
TAP, FOREIGN = fake_box.TAP, fake_box.FOREIGN
_with_foreign = fake_box.with_foreign


@pytest.fixture
def world(tmp_path):
    return fake_box.FakeBox(str(tmp_path))


def _report(world):
    return audit.audit(world.box.snapshot())


def _problems(report):
    return sorted((entry.port, problem.code) for entry, problem in report.problems)


class TestSnapshot:
    def test_a_healthy_box(self, world):
        info = world.spawn(UUID_A, SPEC_A)
        _with_foreign(world)
        snap = world.box.snapshot()
        assert snap.containers == (audit.Container(UUID_A, "running", info.pid, info.sandbox),)
        assert snap.saved == (audit.SavedVif(UUID_A, SPEC_A.host_ifname, SPEC_A.port_id,
                                             SPEC_A.mac, "eth0", fake_box.BRIDGE),)
        assert snap.netns == {SPEC_A.host_ifname: True}
        report = audit.audit(snap)
        assert report.problems == []
        assert report.owner_counts() == {"docker": 1, "libvirt": 1, "agent": 2, "unknown": 1}

    def test_the_containers_lost_end_reads_as_no(self, world):
        world.spawn(UUID_A, SPEC_A)
        world.net.veths[SPEC_A.host_ifname]["ifname"] = "eth9"
        assert world.box.snapshot().netns == {SPEC_A.host_ifname: False}

    def test_an_unreadable_spec_file_is_a_note(self, world):
        world.spawn(UUID_A, SPEC_A)
        with open(os.path.join(world.store.directory, UUID_A, "hybridhost-vifs.json"), "w") as f:
            f.write("{not json")
        snap = world.box.snapshot()
        assert snap.saved == ()
        assert len(snap.notes) == 1 and UUID_A in snap.notes[0]


class TestNetnsCheck:
    EXPECTED = {SPEC_A.host_ifname: (audit.SavedVif(UUID_A, SPEC_A.host_ifname, "p", SPEC_A.mac,
                                                    "eth0", "br-int"),
                                     audit.Container(UUID_A, "running", 4001)),
                SPEC_B.host_ifname: (audit.SavedVif(UUID_B, SPEC_B.host_ifname, "p", SPEC_B.mac,
                                                    "eth0", "br-int"),
                                     audit.Container(UUID_B, "running", 4002))}

    def test_a_gone_process_is_no(self):
        def veth_intact(name, netns, ifname, mac):
            raise ValueError("no network namespace at %s" % netns)

        results, notes = sources.check_netns(types.SimpleNamespace(veth_intact=veth_intact),
                                             self.EXPECTED)
        assert set(results.values()) == {False} and notes == ()

    def test_a_failing_helper_makes_the_rest_unknown_with_one_note(self):
        calls = []

        def veth_intact(name, netns, ifname, mac):
            calls.append(name)
            raise OSError("privsep helper command exited non-zero (1)")

        results, notes = sources.check_netns(types.SimpleNamespace(veth_intact=veth_intact),
                                             self.EXPECTED)
        assert set(results.values()) == {None} and len(calls) == 1
        assert notes == ("could not check the containers' namespaces: privsep helper command "
                         "exited non-zero (1)",)


class TestReadRows:
    @staticmethod
    def _idl(bridges):
        table = types.SimpleNamespace(rows={i: bridge for i, bridge in enumerate(bridges)})
        return types.SimpleNamespace(tables={"Bridge": table},
                                     ovsdb_connection=types.SimpleNamespace(lock=threading.Lock()))

    def test_optional_columns_are_unwrapped(self):
        iface = types.SimpleNamespace(name="hhd1", type="", ofport=[5], link_state=["up"],
                                      error=[], external_ids={"iface-id": "p"})
        local = types.SimpleNamespace(name="br-int", type="internal", ofport=[65534],
                                      link_state=[], error=["x"], external_ids={})
        bridge = types.SimpleNamespace(name="br-int", ports=[
            types.SimpleNamespace(tag=[3], interfaces=[iface]),
            types.SimpleNamespace(tag=[], interfaces=[local])])
        rows = sources.read_rows(self._idl([bridge]), "br-int")
        assert rows == (
            audit.PortRow("hhd1", "", 3, 5, "up", None, {"iface-id": "p"}),
            audit.PortRow("br-int", "internal", None, 65534, None, "x", {}))

    def test_a_missing_bridge_is_bridge_missing(self):
        with pytest.raises(exception.BridgeMissing):
            sources.read_rows(self._idl([]), "br-int")


class TestApply:
    def test_replug_a_missing_ovs_row(self, world):
        info = world.spawn(UUID_A, SPEC_A)
        del world.ovs.ports[SPEC_A.host_ifname]
        world.box.apply(audit.Action(audit.REPLUG, SPEC_A.host_ifname, UUID_A))
        assert world.ovs.ports[SPEC_A.host_ifname].iface_id == SPEC_A.port_id
        assert world.net.calls[-1] == ("plug", SPEC_A.host_ifname, info.sandbox)

    def test_replug_an_intact_vif_changes_nothing(self, world):
        """Plugger.ensure: nothing to do when the VIF is intact."""
        world.spawn(UUID_A, SPEC_A)
        calls = list(world.net.calls)
        world.box.apply(audit.Action(audit.REPLUG, SPEC_A.host_ifname, UUID_A))
        assert world.net.calls == calls

    def test_remove_an_orphan_with_its_veth(self, world):
        world.spawn(UUID_A, SPEC_A)
        world.client.remove_container(world.engine.get(UUID_A).id, force=True)
        world.net.veths[SPEC_A.host_ifname] = dict(netns=None, ifname="x", mac=SPEC_A.mac,
                                                   mtu=1500, addresses=[], routes=[], index=1)
        world.box.apply(audit.Action(audit.REMOVE, SPEC_A.host_ifname, UUID_A))
        assert SPEC_A.host_ifname not in world.ovs.ports
        assert SPEC_A.host_ifname not in world.net.veths

    @pytest.mark.parametrize("kind", [audit.REMOVE, audit.REPLUG])
    @pytest.mark.parametrize("name", FOREIGN)
    def test_refuses_every_foreign_row(self, world, kind, name):
        """Even when asked directly, apply never changes a row it does not own."""
        world.spawn(UUID_A, SPEC_A)
        _with_foreign(world, broken=True)
        before = world.foreign_state(FOREIGN)
        with pytest.raises(exception.VifRepairRefused, match="not the Docker side"):
            world.box.apply(audit.Action(kind, name, UUID_A))
        assert world.foreign_state(FOREIGN) == before
        assert not [c for c in world.net.calls if c[1] in FOREIGN]

    def test_refuses_to_remove_a_port_whose_container_runs_again(self, world):
        world.spawn(UUID_A, SPEC_A)
        with pytest.raises(exception.VifRepairRefused, match="is running now"):
            world.box.apply(audit.Action(audit.REMOVE, SPEC_A.host_ifname, UUID_A))
        assert SPEC_A.host_ifname in world.ovs.ports

    def test_refuses_to_replug_a_stopped_instance_or_one_without_a_spec(self, world):
        world.spawn(UUID_A, SPEC_A)
        with pytest.raises(exception.VifRepairRefused, match="no saved spec"):
            world.box.apply(audit.Action(audit.REPLUG, SPEC_B.host_ifname, UUID_A))
        world.client.stop(world.engine.get(UUID_A).id)
        with pytest.raises(exception.VifRepairRefused, match="is not running"):
            world.box.apply(audit.Action(audit.REPLUG, SPEC_A.host_ifname, UUID_A))


class TestRepairRun:
    def test_fixes_ours_and_leaves_broken_foreign_ports_identical(self, world):
        world.spawn(UUID_A, SPEC_A)
        world.spawn(UUID_B, SPEC_B)
        _with_foreign(world, broken=True)
        del world.ovs.ports[SPEC_A.host_ifname]  # vif-missing
        world.client.kill(world.engine.get(UUID_B).id)  # orphan: its netns and veth are gone
        before_foreign = world.foreign_state(FOREIGN)
        before = _report(world)
        assert {(p, c) for p, c in _problems(before) if p.startswith("hhd")} == {
            (SPEC_A.host_ifname, "vif-missing"), (SPEC_B.host_ifname, "orphan")}
        outcomes, after = repair.run(world.box, before)
        assert [(o.action.kind, o.action.port, o.ok) for o in outcomes] == [
            ("remove", SPEC_B.host_ifname, True), ("replug", SPEC_A.host_ifname, True)]
        assert world.foreign_state(FOREIGN) == before_foreign
        assert {port for port, _code in _problems(after)} == {TAP, "patch-tun", "eth7"}
        assert audit.plan_repair(after) == ()

    def test_nothing_to_do_reads_nothing(self, world):
        report = audit.audit(world.box.snapshot())
        world.box = None  # any use would fail
        assert repair.run(world.box, report) == ((), report)

    def test_a_refused_action_is_reported_and_the_rest_done(self, world):
        world.spawn(UUID_A, SPEC_A)
        world.spawn(UUID_B, SPEC_B)
        del world.ovs.ports[SPEC_A.host_ifname]
        del world.ovs.ports[SPEC_B.host_ifname]
        report = _report(world)
        world.store.save(UUID_A, [])  # the spec went between the audit and the repair
        outcomes, after = repair.run(world.box, report)
        assert [(o.action.port, o.ok) for o in outcomes] == [
            (SPEC_A.host_ifname, False), (SPEC_B.host_ifname, True)]
        assert "no saved spec" in outcomes[0].error
        assert SPEC_B.host_ifname in world.ovs.ports

    def test_reads_again_until_the_switch_shows_the_repair(self):
        """The OVSDB cache lags behind the transaction: poll, within the settle time."""
        broken = audit.Snapshot("br-int", "me", "hhd", rows=(audit.PortRow(
            "hhd1", ofport=5, external_ids={audit.OWNER_KEY: "me", "vm-uuid": "u"}),))
        fixed = audit.Snapshot("br-int", "me", "hhd", rows=())
        box = ScriptedBox([broken, fixed])
        clock = iter(range(100))
        outcomes, after = repair.run(box, audit.audit(broken), settle=10,
                                     clock=lambda: next(clock), sleep=box.slept.append)
        assert box.applied == [audit.Action(audit.REMOVE, "hhd1", "u")]
        assert after.entries == () and len(box.slept) == 1

    def test_gives_up_waiting_after_the_settle_time(self):
        broken = audit.Snapshot("br-int", "me", "hhd", rows=(audit.PortRow(
            "hhd1", ofport=5, external_ids={audit.OWNER_KEY: "me", "vm-uuid": "u"}),))
        box = ScriptedBox([broken])
        clock = iter(range(0, 100, 2))
        _outcomes, after = repair.run(box, audit.audit(broken), settle=5,
                                      clock=lambda: next(clock), sleep=box.slept.append)
        assert [p.code for _e, p in after.problems] == ["orphan"]
        assert len(box.slept) == 2


class ScriptedBox:
    """A box whose snapshots come from a list (the switch catching up) and which records
    the actions applied."""

    def __init__(self, snapshots):
        self.snapshots = list(snapshots)
        self.applied = []
        self.slept = []

    def snapshot(self):
        return self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]

    def apply(self, action):
        self.applied.append(action)
