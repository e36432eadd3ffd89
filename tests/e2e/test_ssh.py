"""ssh with a nova keypair into a container and a VM of the lab (issue 14).

Both are booted on ``hh-demo-net`` with a fresh keypair and a security group that lets
ssh in. The box has no address on the tenant network (vxlan behind ``br-int``), so it
reaches them through floating IPs on ``hh-public``, the lab's external network (``[lab]
l3_agent``): without it that test is skipped naming the network (a failure with
CI=true, like every e2e test whose lab part is missing). The logins from the tenant
network itself (the host's ssh client run in the container's network namespace) need
no router and always run.
"""

import uuid

import pytest

from hybridhost.lab import demo
from hybridhost.virt.docker import inject
from tests.e2e import lab as e2e
from tests.functional import base
from tests.functional import ssh_client

PUBLIC_NETWORK = "hh-public"
LOGIN_TIMEOUT = 180


@pytest.fixture(scope="module")
def booted(lab, tmp_path_factory):
    """A keypair, a security group allowing ssh, a container and a VM using both."""
    base.require_binaries("ssh", "ssh-keygen", "nsenter")
    tag = uuid.uuid4().hex[:6]
    key, public = ssh_client.keypair(tmp_path_factory.mktemp("ssh"), "hh-e2e-%s" % tag)
    made = []
    try:
        keypair = lab.conn.compute.create_keypair(name="hh-e2e-ssh-%s" % tag,
                                                  public_key=public)
        made.append(keypair)
        group = _ssh_group(lab, "hh-e2e-ssh-%s" % tag)
        made.append(group)
        servers = {}
        for kind, flavor, image in (("container", "hh.container", demo.CONTAINER_IMAGE),
                                    ("vm", "hh.vm", demo.GUEST_IMAGE)):
            servers[kind] = _create(lab, "hh-e2e-ssh-%s-%s" % (kind, tag), flavor, image,
                                    keypair, group)
            made.append(servers[kind])
        for kind, server in servers.items():
            servers[kind] = e2e.wait_active(lab.conn, server)
        yield type("Booted", (), dict(servers, key=key, public=public))
    finally:
        _delete_all(lab, reversed(made))


def _ssh_group(lab, name):
    group = lab.conn.network.create_security_group(name=name,
                                                   description="hybridhost e2e: ssh")
    lab.conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ethertype="IPv4", protocol="tcp",
        port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0")
    return group


def _create(lab, name, flavor, image, keypair, group):
    network = lab.conn.network.find_network(demo.NETWORK)
    assert network is not None, "demo network missing: run 'hybridhost lab up'"
    return lab.conn.compute.create_server(
        name=name, flavor_id=lab.conn.compute.find_flavor(flavor).id,
        image_id=lab.conn.image.find_image(image).id, networks=[{"uuid": network.id}],
        key_name=keypair.name, security_groups=[{"name": "default"}, {"name": group.id}])


def _delete_all(lab, things):
    for thing in things:
        kind = thing.__class__.__name__
        if kind == "Server":
            lab.conn.compute.delete_server(thing, ignore_missing=True)
            lab.conn.compute.wait_for_delete(thing, wait=180)
        elif kind == "Keypair":
            lab.conn.compute.delete_keypair(thing, ignore_missing=True)
        elif kind == "FloatingIP":
            lab.conn.network.delete_ip(thing, ignore_missing=True)
        else:
            lab.conn.network.delete_security_group(thing, ignore_missing=True)


def _container(lab, server):
    return lab.docker().containers.get("nova-%s" % server.id)


def _require_dropbear(lab, booted):
    """The lab's images are those of its last 'lab up': older ones have no ssh server."""
    exit_code, _ = _container(lab, booted.container).exec_run(["test", "-x",
                                                               "/usr/sbin/dropbear"])
    base.require(exit_code == 0, "the lab's %s has no dropbear (built before the demo "
                 "images had an ssh server): run 'hybridhost lab up'" % demo.CONTAINER_IMAGE)
    console = e2e.console_has(lab.conn, booted.vm, "HYBRIDHOST-GUEST ready ip=",
                              timeout=LOGIN_TIMEOUT)
    base.require(" keys=" in console, "the lab's %s has no dropbear (built before the demo "
                 "images had an ssh server): run 'hybridhost lab up'" % demo.GUEST_IMAGE)
    assert " keys=1 " in console, console


def _login(key, address, prefix=()):
    return base.wait_until(lambda: ssh_client.logged_in(key, address, prefix=prefix),
                           LOGIN_TIMEOUT, interval=2, what="ssh root@%s" % address)


class TestKeypair:
    def test_the_container_holds_exactly_the_keypair_s_key(self, lab, booted):
        exit_code, output = _container(lab, booted.container).exec_run(
            ["cat", inject.ROOT_KEYS_PATH])
        assert exit_code == 0 and output.decode() == booted.public + "\n"


class TestFromTheTenantNetwork:
    def test_ssh_into_the_vm_and_the_container_at_their_fixed_ips(self, lab, booted):
        """The host's ssh client in the container's network namespace: the VM's key
        comes from its config drive, the container's from the driver."""
        _require_dropbear(lab, booted)
        prefix = e2e.in_container_netns(_container(lab, booted.container).attrs["State"]["Pid"])
        for server in (booted.vm, booted.container):
            address = e2e.fixed_ip(server)
            _login(booted.key, address, prefix)
            inside = ssh_client.ssh(booted.key, address, command="cat /root/.ssh/"
                                    "authorized_keys", prefix=prefix)
            assert inside.stdout == booted.public + "\n", server.name
            wrong, _ = ssh_client.keypair(booted.key.parent, "wrong-%s" % server.id[:8])
            assert ssh_client.refused(ssh_client.ssh(wrong, address, prefix=prefix))


class TestFromTheBox:
    def test_ssh_through_floating_ips(self, lab, booted):
        public = lab.conn.network.find_network(PUBLIC_NETWORK)
        base.require(public is not None, "no external network %s in the lab (the L3 agent, "
                     "router and floating IPs of issue 14 are not up): floating IPs "
                     "cannot be made" % PUBLIC_NETWORK)
        _require_dropbear(lab, booted)
        made = []
        try:
            for server in (booted.container, booted.vm):
                [port] = lab.conn.network.ports(device_id=server.id)
                made.append(lab.conn.network.create_ip(floating_network_id=public.id,
                                                       port_id=port.id))
            for server, floating in zip((booted.container, booted.vm), made, strict=True):
                _login(booted.key, floating.floating_ip_address)
                inside = ssh_client.ssh(booted.key, floating.floating_ip_address,
                                        command="cat /root/.ssh/authorized_keys")
                assert inside.stdout == booted.public + "\n", server.name
        finally:
            _delete_all(lab, made)
