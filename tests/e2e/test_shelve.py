"""Shelve and unshelve a container on the lab: nova snapshots it and removes it
(``shelved_offload_time`` is 0), then unshelve boots the snapshot on the Docker side with
its ports bound to the one agent's host again, and a peer reaches it.

Run on the box, as root: ``python -m pytest tests/e2e/test_shelve.py``.
"""

import time
import uuid

import docker
import pytest

from hybridhost.lab import demo
from hybridhost.virt.docker import engine
from tests.e2e import lab as e2e

FLAVOR = "hh.container.tiny"


def _create(lab, name):
    network = lab.conn.network.find_network(demo.NETWORK)
    return lab.conn.compute.create_server(
        name=name, flavor_id=lab.conn.compute.find_flavor(FLAVOR).id,
        image_id=lab.conn.image.find_image(demo.CONTAINER_IMAGE).id,
        networks=[{"uuid": network.id}])


@pytest.fixture
def two(lab):
    tag = uuid.uuid4().hex[:6]
    servers = [_create(lab, "hh-e2e-shelve-%s-%d" % (tag, i)) for i in range(2)]
    try:
        yield [e2e.wait_active(lab.conn, server) for server in servers]
    finally:
        for server in servers:
            lab.conn.compute.delete_server(server, ignore_missing=True)
        for server in servers:
            lab.conn.compute.wait_for_delete(server, wait=180)


def _container(lab, server):
    try:
        return lab.docker().containers.get(engine.container_name(server.id))
    except docker.errors.NotFound:
        return None


def _reachable(lab, peer, address):
    pid = _container(lab, peer).attrs["State"]["Pid"]
    return any(e2e.ping_from_namespace(e2e.in_container_netns(pid), address)
               for _ in range(30))


def _unshelved(lab, server, timeout=240):
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


def test_a_shelved_container_unshelves_with_its_network(lab, two):
    peer, server = two
    address = e2e.fixed_ip(server)
    assert _reachable(lab, peer, address)
    lab.conn.compute.shelve_server(server)
    lab.conn.compute.wait_for_server(server, status="SHELVED_OFFLOADED", wait=240)
    assert _container(lab, server) is None
    lab.conn.compute.unshelve_server(server)
    server = _unshelved(lab, server)
    assert server.compute_host == lab.plan.docker.host
    ports = list(lab.conn.network.ports(device_id=server.id))
    assert [(p.binding_host_id, p.binding_vif_type) for p in ports] == [
        (lab.plan.agent.host, "ovs")]
    assert _container(lab, server).attrs["State"]["Running"]
    assert e2e.fixed_ip(server) == address
    assert _reachable(lab, peer, address)
