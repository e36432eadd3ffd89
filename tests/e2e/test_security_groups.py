"""End to end: security groups hold on CONTAINER ports, as on VM ports (the one OVS
agent's openvswitch firewall). A container in a group without ingress rules is reached
neither from the box through its floating IP nor from another container on its network;
a rule lets in what it names; removing the rule blocks again."""

import time
import uuid

import pytest

from hybridhost.lab import demo
from tests.e2e import lab as e2e

BLOCKED_FOR_S = 4


def _netns(lab, server):
    container = lab.docker().containers.get("nova-%s" % server.id)
    return e2e.in_container_netns(container.attrs["State"]["Pid"])


@pytest.fixture(scope="module")
def guarded(lab):
    """A container in a group with no ingress rule, with a floating IP; a peer container
    on the same network in a group that lets it send anything."""
    tag = uuid.uuid4().hex[:6]
    conn, network = lab.conn, lab.conn.network.find_network(demo.NETWORK)
    closed = e2e.security_group(conn, "hh-e2e-closed-%s" % tag)
    peer_group = e2e.security_group(conn, "hh-e2e-peer-%s" % tag)
    made = []
    try:
        target, fip = e2e.boot_reachable(conn, "hh-e2e-sg-target-%s" % tag, "hh.container",
                                         demo.CONTAINER_IMAGE, network, [closed.name])
        made += [fip, target]
        peer, peer_fip = e2e.boot_reachable(conn, "hh-e2e-sg-peer-%s" % tag, "hh.container",
                                            demo.CONTAINER_IMAGE, network, [peer_group.name])
        made += [peer_fip, peer]
        yield type("Guarded", (), {"group": closed, "fip": fip.floating_ip_address,
                                   "fixed": e2e.fixed_ip(target),
                                   "peer": _netns(lab, peer)})()
    finally:
        for thing in made:
            if thing.__class__.__name__ == "FloatingIP":
                conn.network.delete_ip(thing)
            else:
                conn.compute.delete_server(thing)
                conn.compute.wait_for_delete(thing, wait=180)
        for group in (closed, peer_group):
            conn.network.delete_security_group(group)


def _paths(guarded):
    """``{path: probe}``: ICMP and TCP 80, from the box (floating IP) and from the peer."""
    return {
        "box icmp": lambda: e2e.ping(guarded.fip),
        "box tcp": lambda: e2e.tcp_answers(guarded.fip),
        "peer icmp": lambda: e2e.ping_from_namespace(guarded.peer, guarded.fixed),
        "peer tcp": lambda: e2e.tcp_from_namespace(guarded.peer, guarded.fixed, wait=1),
    }


def _open(guarded):
    return sorted(name for name, probe in _paths(guarded).items() if probe())


def _wait_open(guarded, wanted):
    e2e.wait_until(lambda: _open(guarded) == wanted, what="open paths %s" % wanted)


class TestContainerPorts:
    def test_no_rule_blocks_a_rule_allows_removing_it_blocks_again(self, lab, guarded):
        deadline = time.monotonic() + BLOCKED_FOR_S
        while time.monotonic() < deadline:
            assert _open(guarded) == []
        icmp = e2e.allow(lab.conn, guarded.group, "icmp")
        _wait_open(guarded, ["box icmp", "peer icmp"])
        tcp = e2e.allow(lab.conn, guarded.group, "tcp", 80)
        _wait_open(guarded, ["box icmp", "box tcp", "peer icmp", "peer tcp"])
        lab.conn.network.delete_security_group_rule(tcp)
        _wait_open(guarded, ["box icmp", "peer icmp"])
        lab.conn.network.delete_security_group_rule(icmp)
        _wait_open(guarded, [])
