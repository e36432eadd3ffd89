"""End to end against a running lab (``hybridhost lab up``): one control plane, two
nova-computes on one box, one OVS agent, a container and a VM on one network (the VM
reads its address from its config drive).

Run on the box, as root: ``python -m pytest tests/e2e`` (HYBRIDHOST_CONFIG names the
box's hybridhost.conf). Skipped when no lab is up, failed instead with CI=true.
"""

import os
import subprocess
import sys
import uuid

import libvirt
import pytest

from hybridhost import box
from hybridhost import conf as hh_conf
from hybridhost import lab_state
from hybridhost import plan as box_plan
from hybridhost.lab import bootstrap
from hybridhost.lab import demo
from tests.e2e import lab as e2e


def _network(lab):
    network = lab.conn.network.find_network(demo.NETWORK)
    assert network is not None, "demo network missing: run 'hybridhost lab up'"
    return network


def _create(lab, name, flavor, image, **extra):
    return lab.conn.compute.create_server(
        name=name, flavor_id=lab.conn.compute.find_flavor(flavor).id,
        image_id=image.id if hasattr(image, "id") else lab.conn.image.find_image(image).id,
        networks=[{"uuid": _network(lab).id}], **extra)


def _delete(lab, server):
    lab.conn.compute.delete_server(server, ignore_missing=True)
    lab.conn.compute.wait_for_delete(server, wait=180)


def _guest_pinging(lab, address):
    """A copy of the demo guest whose init pings ``address`` (hybridhost.ping=)."""
    guest = lab.conn.image.find_image(demo.GUEST_IMAGE)
    cmdline = guest.os_command_line or guest.properties.get("os_command_line", "")
    properties = demo.guest_properties(guest.kernel_id, guest.ramdisk_id,
                                       "%s hybridhost.ping=%s" % (cmdline, address))
    with open(demo._raw_disk(lab.conf.lab.cache_dir), "rb") as handle:  # noqa: SLF001
        image = lab.conn.image.create_image(
            name="hh-e2e-guest-%s" % uuid.uuid4().hex[:8], data=handle, disk_format="ami",
            container_format="ami", visibility="private", allow_duplicates=True,
            validate_checksum=False, **properties)
    return lab.conn.image.wait_for_status(image, status="active", wait=120)


@pytest.fixture(scope="module")
def pair(lab):
    """A container and a VM on the demo network; deleted (and checked) at the end."""
    tag = uuid.uuid4().hex[:6]
    made = []
    try:
        container = _create(lab, "hh-e2e-c-%s" % tag, "hh.container", demo.CONTAINER_IMAGE)
        made.append(container)
        container = e2e.wait_active(lab.conn, container)
        image = _guest_pinging(lab, e2e.fixed_ip(container))
        made.append(image)
        vm = _create(lab, "hh-e2e-vm-%s" % tag, "hh.vm", image)
        made.append(vm)
        vm = e2e.wait_active(lab.conn, vm)
        result = type("Pair", (), {"container": container, "vm": vm, "deleted": False})()
        yield result
        if result.deleted:
            made = [image]
    finally:
        for thing in reversed(made):
            if thing.__class__.__name__ == "Image":
                lab.conn.image.delete_image(thing, ignore_missing=True)
            else:
                _delete(lab, thing)


def _ports(lab, server):
    return list(lab.conn.network.ports(device_id=server.id))


def _container_pid(lab, server):
    container = lab.docker().containers.get("nova-%s" % server.id)
    return container.attrs["State"]["Pid"]


class TestTopology:
    def test_two_computes_with_distinct_hosts_and_nodenames(self, lab):
        computes = [s for s in lab.conn.compute.services() if s.binary == "nova-compute"]
        hosts = {s.host: s.state for s in computes}
        assert hosts == {lab.plan.docker.host: "up", lab.plan.kvm.host: "up"}
        names = {h.name for h in lab.conn.compute.hypervisors()}
        assert names == {lab.plan.docker.nodename, lab.plan.kvm.nodename}

    def test_each_compute_offers_what_the_ledger_says(self, lab):
        """The Docker side offers exactly its share; the libvirt side min(share, L), L
        being what libvirt reports (its inventory's total, as nova last read it); each
        at its own allocation ratios (README.rst, 'Capacity')."""
        for side in lab.plan.sides:
            [provider] = [p for p in lab.conn.placement.resource_providers()
                          if p.name == side.nodename]
            inventory = {i.resource_class: i for i in
                         lab.conn.placement.resource_provider_inventories(provider)}
            rcs = ("VCPU", "MEMORY_MB", "DISK_GB")
            reported = box_plan.Capacity(*(inventory[rc].total for rc in rcs))
            offered = box_plan.Capacity(*(inventory[rc].total - inventory[rc].reserved
                                          for rc in rcs))
            if side.key == "kvm":
                expected, _reserved = box_plan.kvm_offer(side.share, reported)
            else:
                expected = side.offer
            assert offered == expected, side.key
            assert offered.fits_in(side.share), side.key
            assert tuple(inventory[rc].allocation_ratio for rc in rcs) == (
                side.ratios.cpu, side.ratios.ram, side.ratios.disk), side.key

    def test_the_lab_projects_quotas_hold_what_the_box_can(self, lab):
        wanted = bootstrap.project_quotas(lab.plan)
        project = lab.conn.identity.find_project("admin", domain_id="default")
        compute = lab.conn.compute.get_quota_set(project)
        for name, value in wanted["compute"].items():
            assert getattr(compute, name) == -1 or getattr(compute, name) >= value, name
        # Unlimited: with a port limit nova-api lists all the project's ports at each boot.
        assert lab.conn.network.get_quota(project.id).ports == bootstrap.UNLIMITED

    def test_exactly_one_ovs_agent_and_it_is_the_kvm_host(self, lab):
        agents = list(lab.conn.network.agents(binary="neutron-openvswitch-agent"))
        assert [(a.host, a.is_alive) for a in agents] == [(lab.plan.agent.host, True)]

    def test_no_other_agent_than_the_configured_ones(self, lab):
        binaries = sorted(a.binary for a in lab.conn.network.agents())
        expected = ["neutron-openvswitch-agent"]
        if lab.conf.lab.dhcp_agent:
            expected.append("neutron-dhcp-agent")
        if lab.conf.lab.l3_agent:
            expected.append("neutron-l3-agent")
        assert binaries == sorted(expected)

    def test_flavors_require_their_side(self, lab):
        for spec in demo.FLAVORS:
            flavor = lab.conn.compute.find_flavor(spec.name)
            specs = lab.conn.compute.fetch_flavor_extra_specs(flavor).extra_specs
            assert specs["trait:%s" % spec.trait] == "required"


class TestContainerAndVm:
    def test_container_lands_on_the_docker_side_port_bound_to_the_agent(self, lab, pair):
        server = lab.conn.compute.get_server(pair.container.id)
        assert server.status == "ACTIVE"
        assert server.compute_host == lab.plan.docker.host
        assert server.hypervisor_hostname == lab.plan.docker.nodename
        [port] = _ports(lab, server)
        assert port.binding_host_id == lab.plan.agent.host
        assert port.status == "ACTIVE"
        assert port.binding_vif_type == "ovs"
        assert lab.docker().containers.get("nova-%s" % server.id).status == "running"

    def test_vm_lands_on_the_kvm_side_as_a_qemu_guest(self, lab, pair):
        server = lab.conn.compute.get_server(pair.vm.id)
        assert server.status == "ACTIVE" and server.compute_host == lab.plan.kvm.host
        connection = libvirt.open(lab.conf.libvirt.connection_uri)
        try:
            domain = connection.lookupByUUIDString(server.id)
            assert domain.isActive()
            assert "<domain type='qemu'" in domain.XMLDesc()
        finally:
            connection.close()
        [port] = _ports(lab, server)
        assert port.binding_host_id == lab.plan.agent.host and port.status == "ACTIVE"

    def test_vm_gets_its_neutron_address(self, lab, pair):
        source = "dhcp" if lab.conf.lab.dhcp_agent else "config-drive"
        e2e.console_has(lab.conn, pair.vm, "HYBRIDHOST-GUEST ip=%s prefix=%d " % (
            e2e.fixed_ip(pair.vm), hh_conf.lab_tenant_network(lab.conf).prefixlen))
        e2e.console_has(lab.conn, pair.vm, "source=%s " % source)

    def test_container_pings_the_vm(self, lab, pair):
        prefix = e2e.in_container_netns(_container_pid(lab, pair.container))
        assert e2e.ping_from_namespace(prefix, e2e.fixed_ip(pair.vm), count=3, wait=2)

    def test_vm_pings_the_container(self, lab, pair):
        e2e.console_has(lab.conn, pair.vm,
                        "HYBRIDHOST-PING %s ok" % e2e.fixed_ip(pair.container))

    def test_deleting_both_leaves_nothing_behind(self, lab, pair):
        ports = {p.id for server in (pair.container, pair.vm) for p in _ports(lab, server)}
        assert len(ports) == 2
        for server in (pair.container, pair.vm):
            _delete(lab, server)
        pair.deleted = True
        docker_client = lab.docker()
        assert docker_client.containers.list(
            all=True, filters={"label": "nova.uuid=%s" % pair.container.id}) == []
        connection = libvirt.open(lab.conf.libvirt.connection_uri)
        try:
            assert pair.vm.id not in [d.UUIDString() for d in connection.listAllDomains()]
        finally:
            connection.close()
        for port_id in ports:
            assert lab.conn.network.find_port(port_id) is None
            rows = lab.ovsdb("Interface", [["external_ids", "includes",
                                            ["map", [["iface-id", port_id]]]]], ["name"])
            assert rows == [], "OVS rows left for port %s: %s" % (port_id, rows)
            links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True,
                                   check=True).stdout
            assert port_id[:11] not in links


class TestWrongImageForTheFlavor:
    @pytest.mark.parametrize("flavor, image", [
        ("hh.container", demo.GUEST_IMAGE),
        ("hh.vm", demo.CONTAINER_IMAGE),
    ])
    def test_fails_with_a_fault_and_nothing_running(self, lab, flavor, image):
        server = _create(lab, "hh-e2e-wrong-%s" % uuid.uuid4().hex[:6], flavor, image)
        try:
            server = e2e.wait_error(lab.conn, server)
            assert server.fault and server.fault.get("message")
            assert "No valid host" in server.fault["message"]
            assert server.compute_host is None
        finally:
            _delete(lab, server)


def _hybridhost(*argv):
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "hybridhost"),
                           "--config-file", e2e.CONFIG] + list(argv),
                          capture_output=True, text=True, timeout=600, check=False)


class TestCommands:
    def test_a_second_lab_up_changes_nothing(self, lab):
        # How quick it is, is measured (README figures), not asserted here.
        before = {p.full_name: p.pid for p in box.client_for(lab.conf).programs()}
        proc = _hybridhost("lab", "up")
        assert proc.returncode == 0, proc.stderr
        assert "rendered %s (0 file(s) changed)" % lab.plan.config_dir in proc.stdout
        assert "groups added -, changed -, removed -" in proc.stdout
        assert " done in " not in proc.stdout and "uploaded" not in proc.stdout
        assert "restarted" not in proc.stdout
        after = {p.full_name: p.pid for p in box.client_for(lab.conf).programs()}
        assert before == after

    def test_status_shows_programs_two_computes_and_one_agent(self, lab):
        proc = _hybridhost("lab", "status")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.count("nova-compute %s" % lab.plan.docker.host) == 1
        assert proc.stdout.count("(Open vSwitch agent)") == 1
        assert "problem:" not in proc.stdout

    def test_the_readme_commands_are_on_path(self, lab):
        """README: 'supervisorctl -c <config_dir>/conf/supervisord.conf status' and, after
        '. openrc', 'openstack ...' work from a plain shell (tools/install.sh links them)."""
        conf_file = os.path.join(lab.plan.config_dir, "conf", "supervisord.conf")
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
        status = subprocess.run(["supervisorctl", "-c", conf_file, "status"], env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "nova-compute-docker" in status.stdout and "RUNNING" in status.stdout
        openrc = lab_state.layout(lab.conf).openrc
        servers = subprocess.run(["sh", "-c", ". %s && openstack flavor list -f value -c Name"
                                  % openrc], env=env, capture_output=True, text=True,
                                 timeout=120, check=False)
        assert servers.returncode == 0, servers.stderr
        assert "hh.container" in servers.stdout.split()
