"""The cloud side of bench/density.py, through openstacksdk: what the lab can still
hold, boots timed to ACTIVE (bench/boot.py's instance-action observer), who reaches
whom, deletes, and what a run left in neutron, glance and Docker's image store."""

import concurrent.futures
import dataclasses
import time

import docker
from openstack import exceptions as sdk_exc
import requests

from bench import boot
from bench import density_stats as stats
from hybridhost import exception
from hybridhost.lab import demo
from hybridhost.virt.docker import engine
from hybridhost.virt.docker import images
from tests.e2e import lab as e2e

VM_FLAVOR = "hh.vm"
CONTAINER_FLAVOR = "hh.container.tiny"
PING_ATTEMPTS = 3
DELETE_TIMEOUT = 300
ERROR_CHARS = 300


@dataclasses.dataclass
class Boot:
    """One server of the run: what was asked, when, and how it went."""

    index: int
    kind: str
    name: str
    started: float = 0.0      # monotonic, just before the create call
    wall_started: float = 0.0
    server: object = None
    active_s: float | None = None
    error: str | None = None
    ip: str | None = None

    @property
    def server_id(self):
        return getattr(self.server, "id", None)


@dataclasses.dataclass(frozen=True)
class Targets:
    network: object
    vm_flavor: object
    container_flavor: object
    guest_image: object


def resolve(lab):
    """The demo network, the two flavors and the guest image (ValueError if missing)."""
    found = Targets(network=lab.conn.network.find_network(demo.NETWORK),
                    vm_flavor=lab.conn.compute.find_flavor(VM_FLAVOR),
                    container_flavor=lab.conn.compute.find_flavor(CONTAINER_FLAVOR),
                    guest_image=lab.conn.image.find_image(demo.GUEST_IMAGE))
    missing = [name for name, value in zip(
        (demo.NETWORK, VM_FLAVOR, CONTAINER_FLAVOR, demo.GUEST_IMAGE),
        dataclasses.astuple(found), strict=True) if value is None]
    if missing:
        raise ValueError("the lab has no %s (run 'hybridhost lab up')" % ", ".join(missing))
    return found


# --- capacity ---------------------------------------------------------------------


def _need(flavor):
    return {"VCPU": flavor.vcpus, "MEMORY_MB": flavor.ram, "DISK_GB": flavor.disk}


def _provider_room(conn, name, flavor):
    providers = list(conn.placement.resource_providers(name=name))
    if not providers:
        return 0
    inventories = {inv.resource_class: {
        "total": inv.total, "reserved": inv.reserved, "max_unit": inv.max_unit,
        "allocation_ratio": inv.allocation_ratio}
        for inv in conn.placement.resource_provider_inventories(providers[0])}
    usages = conn.placement.get(
        "/resource_providers/%s/usages" % providers[0].id).json()["usages"]
    return stats.placement_room(inventories, usages, _need(flavor))


def _quotas(conn):
    project = conn.current_project_id
    compute = conn.compute.get_quota_set(project, usage=True)
    ports = conn.network.get_quota(project, details=True).ports
    found = {name: (getattr(compute, name), compute.usage.get(name, 0)
                    + (compute.reservation or {}).get(name, 0))
             for name in ("instances", "cores", "ram")}
    found["ports"] = (ports["limit"], ports["used"] + ports.get("reserved", 0))
    return found


def capacity(lab, targets, vms, containers):
    """``(problems, room)``: why the lab cannot hold ``vms`` + ``containers`` more
    (placement on each side, the project's quotas, the subnet's free addresses), and
    what it has room for."""
    conn, tiny, vm = lab.conn, targets.container_flavor, targets.vm_flavor
    room = {"docker side (%s)" % tiny.name: _provider_room(conn, lab.plan.docker.nodename,
                                                          tiny),
            "libvirt side (%s)" % vm.name: _provider_room(conn, lab.plan.kvm.nodename, vm)}
    problems = ["%s holds %d more, %d asked" % (side, free, asked)
                for (side, free), asked in zip(room.items(), (containers, vms), strict=True)
                if free < asked]
    total = containers + vms
    wanted = {"instances": total, "ports": total,
              "cores": containers * tiny.vcpus + vms * vm.vcpus,
              "ram": containers * tiny.ram + vms * vm.ram}
    problems += ["quota %s: %d wanted, %d free" % item
                 for item in stats.quota_shortfalls(_quotas(conn), wanted)]
    addresses = conn.network.get_network_ip_availability(targets.network.id)
    free_ips = addresses.total_ips - addresses.used_ips
    room["addresses on %s" % demo.NETWORK] = free_ips
    if free_ips < total:
        problems.append("%s has %d free addresses, %d wanted" % (
            demo.NETWORK, free_ips, total))
    return problems, room


# --- boots ------------------------------------------------------------------------


def launch(lab, record, flavor, image, network, poll):
    """Create ``record``'s server and wait until it is seen ACTIVE; a failure is kept
    in ``record.error`` (the server, if created, is left for the final delete)."""
    record.started, record.wall_started = time.monotonic(), time.time()
    try:
        record.server = lab.conn.compute.create_server(
            name=record.name, flavor_id=flavor.id, image_id=image.id,
            networks=[{"uuid": network.id}])
        server, seen = boot.wait_built(lab.conn, record.server, interval=poll)
        record.ip = e2e.fixed_ip(server)
    except (AssertionError, exception.DependencyNotReady, sdk_exc.SDKException) as err:
        record.error = _failure(lab, record, err)
        return record
    record.server, record.active_s = server, seen - record.started
    return record


def _failure(lab, record, err):
    """One line on why a boot failed: the server's fault message when it has one."""
    if isinstance(err, AssertionError) and record.server is not None:
        try:
            fault = lab.conn.compute.get_server(record.server.id).fault or {}
        except sdk_exc.SDKException:
            fault = {}
        if fault.get("message"):
            return "ERROR: %s" % fault["message"]
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:ERROR_CHARS]


def launch_all(lab, records, spec, concurrency, poll, done):
    """Boot ``records`` (in launch order) ``concurrency`` at a time; ``spec`` is
    ``(flavor, image, network)``; ``done(record)`` is called as each one ends. When
    interrupted, the boots not started yet are dropped and those under way finish."""
    def one(record):
        done(launch(lab, record, *spec, poll))
        return record

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency)
    try:
        return list(pool.map(one, records))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ports_of(lab, network, server_ids):
    """Neutron port ids of ``server_ids`` on ``network``."""
    wanted = set(server_ids)
    return sorted(port.id for port in lab.conn.network.ports(network_id=network.id)
                  if port.device_id in wanted)


# --- reachability -----------------------------------------------------------------


def _reaches(pid, address):
    prefix = e2e.in_container_netns(pid)
    return any(e2e.ping_from_namespace(prefix, address) for _ in range(PING_ATTEMPTS))


def containers_reach(lab, containers, vm_ips, peers, workers):
    """``[{server, ip, unreached}]`` for each container that did not reach every address
    of ``vm_ips`` and its two peers (indexes into ``containers``), pinged from its
    network namespace (up to PING_ATTEMPTS tries each)."""
    client = lab.docker()

    def check(item):
        record, chosen = item
        targets = list(vm_ips) + [containers[j].ip for j in chosen]
        try:
            pid = client.containers.get(
                engine.container_name(record.server_id)).attrs["State"]["Pid"]
        except (docker.errors.DockerException, requests.RequestException) as err:
            return {"server": record.server_id, "ip": record.ip, "unreached": targets,
                    "error": str(err)[:ERROR_CHARS]}
        unreached = [address for address in targets if not _reaches(pid, address)]
        if unreached:
            return {"server": record.server_id, "ip": record.ip, "unreached": unreached}
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return [found for found in pool.map(check, zip(containers, peers, strict=True))
                if found is not None]


def vms_reach(lab, vm_records, addresses, timeout, report):
    """``{server: [addresses not seen]}``: each VM's console read until it says it
    reached every one of ``addresses`` (its probe runs in rounds) or ``timeout``."""
    wanted = set(addresses)
    missing = {record.server_id: set(wanted) for record in vm_records}
    deadline = time.monotonic() + timeout
    while True:
        for record in vm_records:
            try:
                text = lab.conn.compute.get_server_console_output(record.server)["output"]
            except sdk_exc.SDKException as err:
                report("console of %s unread: %s" % (record.server_id, err))
                continue
            missing[record.server_id] = wanted - stats.console_reached(text)
        if not any(missing.values()) or time.monotonic() > deadline:
            return {server: sorted(left) for server, left in missing.items()}
        report("VMs reached %s of %d containers; waiting for their next probe round" % (
            "/".join(str(len(wanted) - len(left)) for left in missing.values()),
            len(wanted)))
        time.sleep(10)


# --- deletes and leftovers --------------------------------------------------------


def delete_all(lab, servers, concurrency):
    """Delete ``servers`` ``concurrency`` at a time, each waited for; the errors."""
    def one(server):
        try:
            lab.conn.compute.delete_server(server, ignore_missing=True)
            lab.conn.compute.wait_for_delete(server, wait=DELETE_TIMEOUT)
        except sdk_exc.SDKException as err:
            return "%s: %s" % (server.id, err)
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        return [error for error in pool.map(one, servers) if error]


def forget_image(lab, image):
    """Delete the run's glance image and Docker's copy of it; the errors."""
    errors = []
    try:
        lab.conn.image.delete_image(image, ignore_missing=True)
    except sdk_exc.SDKException as err:
        errors.append("glance image %s: %s" % (image.id, err))
    try:
        lab.docker().images.remove(images.local_ref(image.id))
    except docker.errors.ImageNotFound:
        pass
    except (docker.errors.DockerException, requests.RequestException) as err:
        errors.append("docker image %s: %s" % (images.local_ref(image.id), err))
    return errors


def cloud_leftovers(lab, network, server_ids, port_ids, image_id):
    """``{kind: [what]}`` this run left in nova, neutron, glance and Docker's images."""
    servers, ports = set(server_ids), set(port_ids)
    left_servers = [s.id for s in lab.conn.compute.servers(all_projects=True)
                    if s.id in servers]
    left_ports = [port.id for port in lab.conn.network.ports(network_id=network.id)
                  if port.id in ports or port.device_id in servers]
    image = lab.conn.image.find_image(image_id, ignore_missing=True)
    try:
        lab.docker().images.get(images.local_ref(image_id))
        copy = [images.local_ref(image_id)]
    except docker.errors.ImageNotFound:
        copy = []
    return {"servers": left_servers, "neutron ports": sorted(left_ports),
            "glance images": [image.id] if image is not None else [],
            "docker images": copy}
