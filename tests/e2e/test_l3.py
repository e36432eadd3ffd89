"""End to end: the lab's L3 path ([lab] l3_agent). Floating IPs reach a container and
a VM from the box; a container and a VM on two tenant networks reach each other only
through the router; a router and everything on it leave nothing behind when deleted.

The time from binding a floating IP to the first TCP answer is printed (``-s``);
HH_E2E_FIP_ROUNDS rounds per instance (default 1; README's figures are 5).
"""

import os
import statistics
import subprocess
import time
import uuid

import pytest

from hybridhost.lab import demo
from hybridhost.lab import demo_router
from tests.e2e import lab as e2e

ROUNDS = int(os.environ.get("HH_E2E_FIP_ROUNDS", "1"))
WEB = (("icmp", None), ("tcp", 80))
SECOND_CIDR = "10.78.%d.0/24"


class Made:
    """What a test created, deleted in reverse order (also when it fails)."""

    def __init__(self, lab):
        self.lab, self.undo = lab, []

    def add(self, thing, delete):
        self.undo.append((thing, delete))
        return thing

    def close(self):
        for thing, delete in reversed(self.undo):
            delete(thing)
        self.undo = []


def _delete_server(lab):
    def delete(server):
        lab.conn.compute.delete_server(server, ignore_missing=True)
        lab.conn.compute.wait_for_delete(server, wait=180)
    return delete


def _tag():
    return uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def made(lab):
    things = Made(lab)
    yield things
    things.close()


@pytest.fixture(scope="module")
def web(lab, made):
    """A security group that lets ICMP and TCP 80 in (the demo images' httpd)."""
    return made.add(e2e.security_group(lab.conn, "hh-e2e-web-%s" % _tag(), WEB),
                    lab.conn.network.delete_security_group)


@pytest.fixture(scope="module")
def pair(lab, made, web):
    """A container and a VM on the demo network, each with a floating IP."""
    network = lab.conn.network.find_network(demo.NETWORK)
    servers = {}
    for kind, flavor, image in (("container", "hh.container", demo.CONTAINER_IMAGE),
                                ("vm", "hh.vm", demo.GUEST_IMAGE)):
        server, fip = e2e.boot_reachable(lab.conn, "hh-e2e-l3-%s-%s" % (kind, _tag()),
                                         flavor, image, network, [web.name])
        made.add(server, _delete_server(lab))
        made.add(fip, lab.conn.network.delete_ip)
        servers[kind] = (server, fip)
    e2e.console_has(lab.conn, servers["vm"][0], "HYBRIDHOST-GUEST ip=")
    return servers


def _container_netns(lab, server):
    container = lab.docker().containers.get("nova-%s" % server.id)
    return e2e.in_container_netns(container.attrs["State"]["Pid"])


def _gateway(lab):
    return lab.conn.network.find_subnet(demo.SUBNET).gateway_ip


class TestFloatingIps:
    def test_both_take_the_default_route_via_the_demo_router(self, lab, pair):
        route = subprocess.run(_container_netns(lab, pair["container"][0]) + [
            "ip", "-4", "route", "show", "default"], capture_output=True, text=True,
            check=True).stdout
        assert route.startswith("default via %s " % _gateway(lab)), route
        e2e.console_has(lab.conn, pair["vm"][0], " router=%s " % _gateway(lab))

    @pytest.mark.parametrize("kind", ["container", "vm"])
    def test_a_floating_ip_answers_from_the_box(self, lab, pair, kind):
        server, fip = pair[kind]
        e2e.wait_until(lambda: e2e.tcp_answers(fip.floating_ip_address), what="TCP 80")
        assert e2e.ping(fip.floating_ip_address, count=2, wait=2)

    @pytest.mark.parametrize("kind", ["container", "vm"])
    def test_time_from_binding_to_first_answer(self, lab, pair, kind):
        """Unbound, the floating IP stops answering; bound again (what ``openstack server
        add floating ip`` does), it answers within REACH_TIMEOUT."""
        server, fip = pair[kind]
        port_id, address = fip.port_id, fip.floating_ip_address
        times = []
        for _round in range(ROUNDS):
            lab.conn.network.update_ip(fip, port_id=None)
            e2e.wait_until(lambda: not e2e.tcp_answers(address, timeout=0.5),
                           what="the unbound floating IP silent")
            start = time.monotonic()
            lab.conn.network.update_ip(fip, port_id=port_id)
            e2e.wait_until(lambda: e2e.tcp_answers(address, timeout=0.5),
                           what="TCP 80 via the floating IP", interval=0.05)
            times.append(time.monotonic() - start)
        print("\nfloating IP bound -> first TCP answer, %s: median %.2f s of %s" % (
            kind, statistics.median(times), ["%.2f" % t for t in times]))
        assert max(times) < e2e.REACH_TIMEOUT


def _second_network(lab, made):
    network = made.add(lab.conn.network.create_network(name="hh-e2e-net2-%s" % _tag()),
                       lab.conn.network.delete_network)
    subnet = lab.conn.network.create_subnet(
        network_id=network.id, ip_version=4, cidr=SECOND_CIDR % (uuid.uuid4().int % 200),
        is_dhcp_enabled=False, name=network.name)
    return network, subnet


def _guest_pinging(lab, made, address):
    """A copy of the demo guest whose init also pings ``address`` (hybridhost.ping=)."""
    guest = lab.conn.image.find_image(demo.GUEST_IMAGE)
    cmdline = guest.os_command_line or guest.properties.get("os_command_line", "")
    properties = demo.guest_properties(guest.kernel_id, guest.ramdisk_id,
                                       "%s hybridhost.ping=%s" % (cmdline, address))
    with open(demo._raw_disk(lab.conf.lab.cache_dir), "rb") as handle:  # noqa: SLF001
        image = lab.conn.image.create_image(
            name="hh-e2e-guest-%s" % _tag(), data=handle, disk_format="ami",
            container_format="ami", visibility="private", allow_duplicates=True,
            validate_checksum=False, **properties)
    made.add(image, lab.conn.image.delete_image)
    return lab.conn.image.wait_for_status(image, status="active", wait=120)


class TestTwoNetworks:
    def test_container_and_vm_reach_each_other_only_through_the_router(self, lab, pair,
                                                                        made, web):
        """Container on hh-demo-net (A), VM on a second network (B): nothing passes until
        B joins the demo router; then both ways; after B leaves, nothing again."""
        container = pair["container"][0]
        net_b, subnet_b = _second_network(lab, made)
        image = _guest_pinging(lab, made, e2e.fixed_ip(container))
        vm = made.add(e2e.wait_active(lab.conn, lab.conn.compute.create_server(
            name="hh-e2e-l3-vm2-%s" % _tag(), flavor_id=lab.conn.compute.find_flavor(
                "hh.vm").id, image_id=image.id, networks=[{"uuid": net_b.id}],
            security_groups=[{"name": web.name}])), _delete_server(lab))
        e2e.console_has(lab.conn, vm, " router=%s " % subnet_b.gateway_ip)
        netns, vm_ip = _container_netns(lab, container), e2e.fixed_ip(vm)
        assert not e2e.tcp_from_namespace(netns, vm_ip)
        assert not e2e.ping_from_namespace(netns, vm_ip, count=2)
        router = lab.conn.network.find_router(demo_router.ROUTER)
        lab.conn.network.add_interface_to_router(router, subnet_id=subnet_b.id)
        try:
            e2e.wait_until(lambda: e2e.tcp_from_namespace(netns, vm_ip), what="VM's httpd")
            assert e2e.ping_from_namespace(netns, vm_ip, count=2, wait=2)
            e2e.console_has(lab.conn, vm, "HYBRIDHOST-PING %s ok" % e2e.fixed_ip(container))
        finally:
            lab.conn.network.remove_interface_from_router(router, subnet_id=subnet_b.id)
        e2e.wait_until(lambda: not e2e.tcp_from_namespace(netns, vm_ip, wait=1),
                       what="the VM unreachable")
        assert not e2e.ping_from_namespace(netns, vm_ip, count=2)


def _router_traces(lab, router_id, port_ids):
    """What of a router is left on the box: its namespace, the OVS rows of its ports,
    their veths' host ends, its floating IPs' NAT rules in any qrouter namespace."""
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                check=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                           check=True).stdout
    rows = lab.ovsdb("Interface", [], ["name", "external_ids"])
    taps = {"tap" + port_id[:11] for port_id in port_ids}
    return {
        "namespace": ("qrouter-%s" % router_id) in namespaces,
        "ovs": sorted(row["name"] for row in rows if row["name"] in taps
                      or dict(row["external_ids"][1]).get("iface-id") in port_ids),
        "links": sorted(tap for tap in taps if " %s" % tap in links
                        or " %s@" % tap in links),
    }


class TestNothingLeft:
    def test_deleting_floating_ip_interface_router_and_instance_leaves_nothing(
            self, lab, made, web):
        """Its own router, network and container (the demo router stays)."""
        network, subnet = _second_network(lab, made)
        public = lab.conn.network.find_network(e2e.PUBLIC_NETWORK)
        router = lab.conn.network.create_router(
            name="hh-e2e-router-%s" % _tag(), external_gateway_info={"network_id": public.id})
        lab.conn.network.add_interface_to_router(router, subnet_id=subnet.id)
        server, fip = e2e.boot_reachable(lab.conn, "hh-e2e-l3-gone-%s" % _tag(),
                                         "hh.container", demo.CONTAINER_IMAGE, network,
                                         [web.name])
        e2e.wait_until(lambda: e2e.tcp_answers(fip.floating_ip_address), what="TCP 80")
        port_ids = {p.id for p in lab.conn.network.ports(device_id=router.id)}
        port_ids |= {p.id for p in lab.conn.network.ports(device_id=server.id)}
        assert len(port_ids) == 3
        before = _router_traces(lab, router.id, port_ids)
        # qr- and qg-'s OVS ends and the container's port; the two veths' host ends.
        assert before["namespace"] and len(before["ovs"]) == 3 and len(before["links"]) == 2
        lab.conn.network.delete_ip(fip)
        lab.conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
        lab.conn.network.delete_router(router)
        _delete_server(lab)(server)
        clean = {"namespace": False, "ovs": [], "links": []}
        traces = {}

        def nothing_left():
            traces.update(_router_traces(lab, router.id, port_ids))
            return traces == clean

        try:
            e2e.wait_until(nothing_left, what="no trace of the router")
        finally:
            assert traces == clean
        assert not e2e.ping(fip.floating_ip_address)
