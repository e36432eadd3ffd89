"""The audit of the integration bridge: owners, problems, and the repair plan (pure)."""

import pytest

from hybridhost.bridge_ports import audit
from tests.unit.bridge_ports import builders as b


def _entry(report, port):
    found = [e for e in report.entries if e.port == port]
    assert len(found) == 1, report.entries
    return found[0]


def _codes(report, port):
    return [p.code for p in _entry(report, port).problems]


class TestOwners:
    @pytest.mark.parametrize("row, owner", [
        (b.docker_row(b.NAME_A, b.UUID_A), audit.DOCKER),
        (b.libvirt_row("tap0123456789a"), audit.LIBVIRT),
        (b.PortRow(name=b.BRIDGE, type="internal", ofport=65534), audit.AGENT),
        (b.PortRow(name="patch-tun", type="patch", ofport=2), audit.AGENT),
        (b.PortRow(name="int-br-ex", type="patch", ofport=3), audit.AGENT),
        (b.PortRow(name="int-br-ex", type="", ofport=3), audit.AGENT),
        (b.PortRow(name="tapdhcp000000", type="internal", ofport=4,
                   external_ids={"iface-id": "dhcp-port"}), audit.AGENT),
        (b.PortRow(name="eth7", ofport=5), audit.UNKNOWN),
        (b.PortRow(name="tapnothing0000", ofport=6), audit.UNKNOWN),
        (b.docker_row(b.NAME_A, b.UUID_A, owner="other-docker"), audit.UNKNOWN),
    ])
    def test_each_owner_kind(self, row, owner):
        """hybridhost-owner first (ours or another host's), then agent ports, then tap*."""
        assert audit.owner_of(row, b.snapshot([row])) == owner

    def test_a_tap_named_port_with_our_owner_is_ours(self):
        """The owner key wins over the name: libvirt never sets it."""
        row = b.docker_row("tap0123456789a", b.UUID_A)
        assert audit.owner_of(row, b.snapshot([row])) == audit.DOCKER


class TestHealthyBox:
    def test_no_problems_and_the_columns(self):
        """A running container's intact VIF, a VM's tap, the agent's ports: nothing flagged."""
        report = audit.audit(b.healthy_snapshot())
        assert report.problems == []
        ours = _entry(report, b.NAME_A)
        assert (ours.owner, ours.instance, ours.tag, ours.ofport, ours.link, ours.netns) == (
            audit.DOCKER, b.UUID_A, 1, 5, "up", audit.NETNS_YES)
        assert _entry(report, b.TAP).netns == audit.NETNS_NA
        assert report.owner_counts() == {"docker": 1, "libvirt": 1, "agent": 2, "unknown": 0}
        assert audit.plan_repair(report) == ()

    def test_entries_are_sorted_by_port_name(self):
        names = [e.port for e in audit.audit(b.healthy_snapshot()).entries]
        assert names == sorted(names)

    def test_a_starting_container_is_left_to_the_driver(self):
        """The driver plugs the host half before it starts the container: not an orphan."""
        snap = b.snapshot([b.docker_row(b.NAME_A, b.UUID_A)],
                          containers=[audit.Container(b.UUID_A, "created")])
        assert audit.audit(snap).problems == []

    def test_a_paused_container_counts_as_running(self):
        snap = b.healthy_snapshot(containers=[audit.Container(b.UUID_A, "paused", 4001)])
        assert audit.audit(snap).problems == []


class TestSwitchProblems:
    @pytest.mark.parametrize("make", [
        lambda **kw: b.docker_row(b.NAME_A, b.UUID_A, **kw),
        lambda **kw: b.libvirt_row(b.TAP, **kw),
        lambda **kw: b.PortRow(name="patch-tun", type="patch", **kw),
        lambda **kw: b.PortRow(name="eth7", **kw),
    ])
    def test_dead_vlan_on_any_owner(self, make):
        snap = b.healthy_snapshot(extra=[], replace={make().name: make(tag=4095, ofport=9)})
        assert "dead-vlan" in _codes(audit.audit(snap), make().name)

    @pytest.mark.parametrize("ofport, words", [
        (-1, "ovs-vswitchd could not open it: could not open network device"),
        (None, "no OpenFlow port yet")])
    def test_no_ofport_on_any_owner(self, ofport, words):
        snap = b.healthy_snapshot(replace={
            b.TAP: b.libvirt_row(b.TAP, ofport=ofport,
                                 error="could not open network device" if ofport else None),
            "patch-tun": b.PortRow(name="patch-tun", type="patch", ofport=ofport)})
        report = audit.audit(snap)
        for port in (b.TAP, "patch-tun"):
            problem = _entry(report, port).problems[0]
            assert problem.code == "no-ofport" and problem.repair is None
        assert _entry(report, b.TAP).problems[0].detail == words


class TestDockerProblems:
    def test_orphan_without_a_container(self):
        snap = b.healthy_snapshot(containers=[])
        problem = _entry(audit.audit(snap), b.NAME_A).problems[-1]
        assert (problem.code, problem.repair) == ("orphan", audit.REMOVE)
        assert problem.detail == "its instance has no container"

    def test_orphan_of_an_exited_container(self):
        snap = b.healthy_snapshot(containers=[audit.Container(b.UUID_A, "exited")],
                                  replace={b.NAME_A: b.docker_row(b.NAME_A, b.UUID_A, ofport=-1)})
        report = audit.audit(snap)
        assert _codes(report, b.NAME_A) == ["no-ofport", "orphan"]
        assert _entry(report, b.NAME_A).problems[-1].detail == "its container is exited"
        assert audit.plan_repair(report) == (audit.Action(audit.REMOVE, b.NAME_A, b.UUID_A),)

    def test_vif_missing_of_a_running_container(self):
        snap = b.healthy_snapshot(drop=[b.NAME_A])
        entry = _entry(audit.audit(snap), b.NAME_A)
        assert (entry.on_bridge, entry.owner, entry.instance, entry.netns) == (
            False, audit.DOCKER, b.UUID_A, audit.NETNS_YES)
        assert [(p.code, p.repair) for p in entry.problems] == [("vif-missing", audit.REPLUG)]

    def test_missing_vifs_are_not_counted_as_ports(self):
        report = audit.audit(b.healthy_snapshot(drop=[b.NAME_A]))
        assert report.owner_counts()["docker"] == 0

    def test_vif_broken_when_the_container_lost_its_end(self):
        report = audit.audit(b.healthy_snapshot(netns={b.NAME_A: False}))
        entry = _entry(report, b.NAME_A)
        assert entry.netns == audit.NETNS_NO
        assert [(p.code, p.repair) for p in entry.problems] == [("vif-broken", audit.REPLUG)]

    def test_vif_broken_when_the_row_does_not_match_the_saved_spec(self):
        snap = b.healthy_snapshot(replace={
            b.NAME_A: b.docker_row(b.NAME_A, b.UUID_A, port_id="another-port")})
        problem = _entry(audit.audit(snap), b.NAME_A).problems[0]
        assert problem.code == "vif-broken" and "another-port" in problem.detail

    def test_no_ofport_of_a_running_containers_vif_is_repairable(self):
        snap = b.healthy_snapshot(replace={b.NAME_A: b.docker_row(b.NAME_A, b.UUID_A, ofport=-1)})
        report = audit.audit(snap)
        assert [(p.code, p.repair) for p in _entry(report, b.NAME_A).problems] == [
            ("no-ofport", audit.REPLUG)]
        assert audit.plan_repair(report) == (audit.Action(audit.REPLUG, b.NAME_A, b.UUID_A),)

    def test_dead_vlan_of_ours_is_reported_not_repaired(self):
        """A re-plug does not fix a binding: the agent would tag it 4095 again."""
        snap = b.healthy_snapshot(replace={b.NAME_A: b.docker_row(b.NAME_A, b.UUID_A, tag=4095)})
        report = audit.audit(snap)
        assert _codes(report, b.NAME_A) == ["dead-vlan"]
        assert audit.plan_repair(report) == ()

    def test_unexpected_port_of_a_running_instance(self):
        extra = b.docker_row("hhdffffffffffff"[:14], b.UUID_A, port_id="p-extra")
        report = audit.audit(b.healthy_snapshot(extra=[extra]))
        assert _codes(report, extra.name) == ["unexpected"]
        assert audit.plan_repair(report) == ()

    def test_bad_name_of_ours(self):
        row = b.docker_row("vethabc", b.UUID_B)
        report = audit.audit(b.healthy_snapshot(extra=[row]))
        assert _codes(report, "vethabc") == ["bad-name", "orphan"]

    def test_unknown_netns_is_not_a_problem(self):
        """The privileged helper failed: the column says so, a note says why."""
        snap = b.healthy_snapshot(netns={b.NAME_A: None}, notes=("could not check: boom",))
        report = audit.audit(snap)
        assert report.problems == []
        assert _entry(report, b.NAME_A).netns == audit.NETNS_UNKNOWN
        assert report.notes == ("could not check: boom",)

    def test_saved_vifs_of_another_bridge_are_not_expected_here(self):
        vif = b.saved_vif(b.UUID_A, b.NAME_A, bridge="br-other")
        snap = b.healthy_snapshot(drop=[b.NAME_A], saved=[vif])
        assert audit.audit(snap).problems == []


class TestForeignProblems:
    def test_stray_port_named_like_ours(self):
        row = b.docker_row("hhd9999999999a", b.UUID_B, owner="old-name-docker")
        report = audit.audit(b.healthy_snapshot(extra=[row]))
        entry = _entry(report, row.name)
        assert entry.owner == audit.UNKNOWN and _codes(report, row.name) == ["stray"]
        assert "old-name-docker" in entry.problems[0].detail

    def test_stray_port_without_any_owner(self):
        row = b.PortRow(name="hhd9999999999a", ofport=8)
        problem = _entry(audit.audit(b.healthy_snapshot(extra=[row])), row.name).problems[0]
        assert (problem.code, problem.detail) == (
            "stray", "named like the Docker side's VIFs but without a hybridhost owner")

    def test_name_taken_by_a_foreign_port_is_not_repaired(self):
        """Re-plugging would delete the foreign row of that name: report it instead."""
        foreign = b.libvirt_row(b.NAME_A)
        report = audit.audit(b.healthy_snapshot(replace={b.NAME_A: foreign}))
        assert "name-taken" in _codes(report, b.NAME_A)
        assert audit.plan_repair(report) == ()


class TestRepairPlan:
    def test_every_foreign_port_broken_in_every_way_plans_nothing(self):
        """libvirt's, the agent's and unknown ports are never planned, however broken."""
        broken = dict(tag=4095, ofport=-1, link_state="down", error="gone")
        rows = [b.libvirt_row(b.TAP, **broken),
                b.PortRow(name="patch-tun", type="patch", **broken),
                b.PortRow(name=b.BRIDGE, type="internal", **broken),
                b.PortRow(name="tapdhcp000000", external_ids={"iface-id": "d"}, **broken),
                b.PortRow(name="eth7", **broken),
                b.docker_row("hhd9999999999a", b.UUID_B, owner="other-docker", **broken)]
        report = audit.audit(b.snapshot(rows, containers=[], saved=[]))
        assert len(report.problems) >= len(rows)
        assert audit.plan_repair(report) == ()

    def test_plan_holds_only_docker_ports_in_a_mixed_box(self):
        broken = dict(tag=4095, ofport=-1)
        snap = b.healthy_snapshot(
            containers=[b.running(b.UUID_A)], netns={b.NAME_A: False},
            extra=[b.docker_row(b.NAME_B, b.UUID_B), b.libvirt_row("tapbbbbbbbbbbb", **broken),
                   b.PortRow(name="int-br-ex", type="patch", **broken)],
            replace={b.TAP: b.libvirt_row(b.TAP, **broken)})
        report = audit.audit(snap)
        plan = audit.plan_repair(report)
        assert set(plan) == {audit.Action(audit.REPLUG, b.NAME_A, b.UUID_A),
                             audit.Action(audit.REMOVE, b.NAME_B, b.UUID_B)}
        owners = {e.port: e.owner for e in report.entries}
        assert {owners[action.port] for action in plan} == {audit.DOCKER}

    def test_one_action_per_port_and_remove_wins(self):
        row = b.docker_row(b.NAME_A, b.UUID_A, ofport=-1, port_id="other")
        snap = b.healthy_snapshot(replace={b.NAME_A: row}, netns={b.NAME_A: False})
        assert audit.plan_repair(audit.audit(snap)) == (
            audit.Action(audit.REPLUG, b.NAME_A, b.UUID_A),)
        gone = b.healthy_snapshot(replace={b.NAME_A: row}, containers=[])
        assert audit.plan_repair(audit.audit(gone)) == (
            audit.Action(audit.REMOVE, b.NAME_A, b.UUID_A),)


class TestUnwired:
    """A VIF with an OpenFlow port and no VLAN tag: the agent has not wired it (a boot in
    progress, or a port it dropped). Reported, never repaired: the agent wires it."""

    def test_a_running_containers_vif_without_a_tag(self):
        snap = b.healthy_snapshot(replace={b.NAME_A: b.docker_row(b.NAME_A, b.UUID_A, tag=None)})
        report = audit.audit(snap)
        problem = _entry(report, b.NAME_A).problems[0]
        assert (problem.code, problem.repair) == ("unwired", None)
        assert problem.detail == "no VLAN tag: the OVS agent has not wired it"
        assert audit.plan_repair(report) == ()

    def test_a_vms_tap_without_a_tag(self):
        snap = b.healthy_snapshot(replace={b.TAP: b.libvirt_row(b.TAP, tag=None)})
        assert _codes(audit.audit(snap), b.TAP) == ["unwired"]

    @pytest.mark.parametrize("row", [
        b.PortRow(name="patch-tun", type="patch", ofport=2),  # the agent's: never tagged
        b.libvirt_row(b.TAP, tag=None, ofport=None),  # no OpenFlow port: that problem only
    ])
    def test_ports_without_a_tag_that_are_not_unwired(self, row):
        report = audit.audit(b.healthy_snapshot(replace={row.name: row}))
        assert "unwired" not in _codes(report, row.name)

    def test_a_starting_containers_port_is_left_to_the_driver(self):
        snap = b.snapshot([b.docker_row(b.NAME_A, b.UUID_A, tag=None)],
                          containers=[audit.Container(b.UUID_A, "created")])
        assert audit.audit(snap).problems == []
