"""Ports neutron's agent dropped (hybridhost/neutron_agent/unwired.py): which ports two
looks find untagged, and how the box's agent hands them back to neutron's loop. The
real agent drops and wires one again in tests/e2e/test_agent.py."""
# The agent's loop internals are what is tested:
# ruff: noqa: SLF001

import pytest

from hybridhost.neutron_agent import agent as box_agent
from hybridhost.neutron_agent import unwired

MAC = "fa:16:3e:00:00:01"


def iface(name, port_id="port-1", ofport=5, uuid=None, mac=MAC):
    ids = {"iface-id": port_id, "attached-mac": mac} if port_id else {}
    return {"_uuid": uuid or "row-" + name, "name": name, "external_ids": ids,
            "ofport": ofport}


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


# --- which ports are untagged ---------------------------------------------------------


def test_a_vif_port_without_a_tag_is_untagged():
    found = unwired.untagged_vifs([iface("hhd1")], {"hhd1": []})
    assert found == {unwired.Untagged("row-hhd1", "hhd1", "port-1")}


@pytest.mark.parametrize("tag", [1, 4095, None])
def test_a_tagged_port_or_one_without_a_port_row_is_not(tag):
    tags = {} if tag is None else {"hhd1": tag}
    assert unwired.untagged_vifs([iface("hhd1")], tags) == set()


@pytest.mark.parametrize("row", [
    iface("patch-tun", port_id=None),  # no iface-id: not a VIF
    iface("hhd1", mac=""),  # no attached-mac: neutron's agent skips it too
    iface("hhd1", ofport=[]),  # no OpenFlow port yet: the agent waits for it itself
    iface("hhd1", ofport=-1),  # ovs-vswitchd could not open it
])
def test_ports_the_agent_does_not_wire_yet_are_not(row):
    assert unwired.untagged_vifs([row], {row["name"]: []}) == set()


# --- two looks in a row ---------------------------------------------------------------


def test_the_first_look_is_one_interval_after_the_start():
    clock = FakeClock()
    watch = unwired.UnwiredWatch(interval=10, clock=clock)
    assert not watch.due()
    clock.now += 10
    assert watch.due()


def test_a_port_found_at_two_looks_in_a_row_is_dropped():
    watch = unwired.UnwiredWatch(interval=10, clock=FakeClock())
    port = unwired.Untagged("row-1", "hhd1", "port-1")
    assert watch.look({port}) == set()
    assert watch.look({port}) == {port}


def test_a_port_wired_between_two_looks_is_not():
    watch = unwired.UnwiredWatch(interval=10, clock=FakeClock())
    port = unwired.Untagged("row-1", "hhd1", "port-1")
    watch.look({port})
    assert watch.look(set()) == set()
    assert watch.look({port}) == set()  # a new suspect: plugged again and not wired yet


def test_a_port_plugged_again_between_two_looks_is_a_new_suspect():
    watch = unwired.UnwiredWatch(interval=10, clock=FakeClock())
    watch.look({unwired.Untagged("row-1", "hhd1", "port-1")})
    assert watch.look({unwired.Untagged("row-2", "hhd1", "port-1")}) == set()


def test_a_port_handed_back_and_still_untagged_is_handed_back_two_looks_later():
    watch = unwired.UnwiredWatch(interval=10, clock=FakeClock())
    port = unwired.Untagged("row-1", "hhd1", "port-1")
    watch.look({port})
    assert watch.look({port}) == {port}
    assert watch.look({port}) == set()
    assert watch.look({port}) == {port}


def test_a_look_sets_the_next_one_an_interval_later():
    clock = FakeClock()
    watch = unwired.UnwiredWatch(interval=10, clock=clock)
    clock.now += 25
    watch.look(set())
    assert not watch.due()
    clock.now += 10
    assert watch.due()


# --- the box's agent ------------------------------------------------------------------


class FakeBridge:
    """The agent's br-int: its Interface rows and Port tags (from its OVSDB cache)."""

    def __init__(self, interfaces=(), tags=None, error=None):
        self.interfaces = list(interfaces)
        self.tags = tags or {}
        self.error = error

    def get_ports_attributes(self, table, columns=None, ports=None, if_exists=False):
        assert (table, columns, if_exists) == ("Interface", box_agent.INTERFACE_COLUMNS, True)
        if self.error:
            raise self.error
        return self.interfaces

    def get_port_tag_dict(self):
        return self.tags


def bare_agent(bridge, clock):
    """Only what the look reads: the real ``__init__`` wants OVS and RPC."""
    agent = box_agent.HybridhostOVSAgent.__new__(box_agent.HybridhostOVSAgent)
    agent.int_br = bridge
    agent._unwired_watch = unwired.UnwiredWatch(interval=10, clock=clock)
    return agent


def test_the_agent_hands_a_dropped_port_to_its_next_iteration(monkeypatch, caplog):
    clock = FakeClock()
    agent = bare_agent(FakeBridge([iface("hhd1")], {"hhd1": []}), clock)
    for _look in range(2):
        clock.now += 10
        agent._look_for_dropped_ports()
    assert agent._rewire == {"port-1"}
    assert "Port port-1 (hhd1) has had no VLAN tag for 10 s or more" in caplog.text
    monkeypatch.setattr(box_agent.loop.EventDrivenOVSAgent, "_agent_has_updates",
                        lambda self, polling_manager: False)
    assert agent._agent_has_updates(None)

    upstream = ({"current": {"port-0"}, "added": set(), "removed": set()}, {}, 0, set())
    monkeypatch.setattr(box_agent.loop.EventDrivenOVSAgent, "process_port_info",
                        lambda self, *args, **kwargs: upstream)
    port_info = agent.process_port_info("any", "arguments")[0]
    assert port_info["added"] == {"port-1"}
    assert port_info["current"] == {"port-0", "port-1"}
    assert agent._rewire == set()
    assert not agent._agent_has_updates(None)


def test_between_looks_the_agent_reads_nothing():
    clock = FakeClock()
    bridge = FakeBridge(error=AssertionError("read between looks"))
    agent = bare_agent(bridge, clock)
    agent._look_for_dropped_ports()
    assert agent._rewire == frozenset()


def test_a_look_that_cannot_read_the_bridge_is_only_logged(caplog):
    clock = FakeClock()
    agent = bare_agent(FakeBridge(error=RuntimeError("OVSDB is restarting")), clock)
    clock.now += 10
    agent._look_for_dropped_ports()
    assert agent._rewire == frozenset()
    assert "Could not look for ports left without a VLAN tag" in caplog.text


def test_an_iteration_with_nothing_dropped_is_neutrons(monkeypatch):
    agent = bare_agent(FakeBridge(), FakeClock())
    upstream = ({"current": {"port-0"}, "added": set()}, {}, 0, set())
    monkeypatch.setattr(box_agent.loop.EventDrivenOVSAgent, "process_port_info",
                        lambda self, *args, **kwargs: upstream)
    assert agent.process_port_info() is upstream
    assert upstream[0] == {"current": {"port-0"}, "added": set()}
