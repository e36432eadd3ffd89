"""Shelve and unshelve on the lab: nova snapshots the instance, uploads the snapshot to
glance and removes the instance (``shelved_offload_time`` is 0); unshelve boots the
snapshot on the instance's side again, with its ports bound to the one agent's host, and
a peer container reaches it at its old address. A container and a VM.

Run on the box, as root: ``python -m pytest -s tests/e2e/test_shelve.py`` (``-s`` prints
how long shelve and unshelve took).
"""

import time
import uuid

import docker
import pytest

from hybridhost.lab import demo
from hybridhost.virt.docker import engine
from tests.e2e import lab as e2e

CONTAINER_FLAVOR = "hh.container.tiny"
SHELVE_TIMEOUT = 240


def _create(lab, name, flavor=CONTAINER_FLAVOR, image=demo.CONTAINER_IMAGE):
    return e2e.create_on_demo_net(lab, name, flavor, image)


def _delete(lab, servers):
    e2e.delete_servers(lab, servers)


@pytest.fixture
def peer(lab):
    server = _create(lab, "hh-e2e-shelve-peer-%s" % uuid.uuid4().hex[:6])
    try:
        yield e2e.wait_active(lab.conn, server)
    finally:
        _delete(lab, [server])


def _container(lab, server):
    try:
        return lab.docker().containers.get(engine.container_name(server.id))
    except docker.errors.NotFound:
        return None


def _reachable(lab, peer, address, tries=60):
    pid = _container(lab, peer).attrs["State"]["Pid"]
    return any(e2e.ping_from_namespace(e2e.in_container_netns(pid), address)
               for _ in range(tries))


def _unshelved(lab, server, timeout=SHELVE_TIMEOUT):
    """The server once unshelve made it ACTIVE; AssertionError with nova's fault when
    the unshelve failed (it is SHELVED_OFFLOADED again, no task left)."""
    deadline = time.monotonic() + timeout
    began = False
    while time.monotonic() < deadline:
        found = lab.conn.compute.get_server(server.id)
        if found.status == "ACTIVE":
            return found
        began = began or found.task_state is not None
        assert not (began and found.task_state is None), "unshelve failed: %s (%s)" % (
            found.status, found.fault)
        time.sleep(0.5)
    raise AssertionError("server %s not ACTIVE %d s after unshelve" % (server.id, timeout))


def _shelved(lab, server, timeout=SHELVE_TIMEOUT):
    """The server once SHELVED_OFFLOADED; AssertionError with nova's fault when shelve
    ended otherwise (the snapshot's upload failing leaves it ACTIVE or SHUTOFF)."""
    deadline = time.monotonic() + timeout
    began = False
    while time.monotonic() < deadline:
        found = lab.conn.compute.get_server(server.id)
        if found.status == "SHELVED_OFFLOADED":
            return found
        began = began or found.task_state is not None
        assert not (began and found.task_state is None), "shelve failed: %s (%s)" % (
            found.status, found.fault)
        time.sleep(0.5)
    raise AssertionError("server %s not SHELVED_OFFLOADED %d s after shelve" % (
        server.id, timeout))


SIDES = {
    "container": (CONTAINER_FLAVOR, demo.CONTAINER_IMAGE),
    "vm": ("hh.vm", demo.GUEST_IMAGE),
}


@pytest.mark.parametrize("side", sorted(SIDES))
def test_a_shelved_instance_unshelves_with_its_network(lab, peer, side):
    flavor, image = SIDES[side]
    server = _create(lab, "hh-e2e-shelve-%s-%s" % (side, uuid.uuid4().hex[:6]),
                     flavor=flavor, image=image)
    try:
        server = e2e.wait_active(lab.conn, server)
        host, address = server.compute_host, e2e.fixed_ip(server)
        assert _reachable(lab, peer, address)
        started = time.monotonic()
        lab.conn.compute.shelve_server(server)
        _shelved(lab, server)
        shelved_s = time.monotonic() - started
        if side == "container":
            assert _container(lab, server) is None
        started = time.monotonic()
        lab.conn.compute.unshelve_server(server)
        server = _unshelved(lab, server)
        assert server.compute_host == host
        ports = list(lab.conn.network.ports(device_id=server.id))
        assert [(p.binding_host_id, p.binding_vif_type) for p in ports] == [
            (lab.plan.agent.host, "ovs")]
        assert e2e.fixed_ip(server) == address
        assert _reachable(lab, peer, address)
        print("\nSHELVE %s: shelved (offloaded) in %.1f s, unshelved and reachable in %.1f s"
              % (side, shelved_s, time.monotonic() - started))
    finally:
        _delete(lab, [server])
