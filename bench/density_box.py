"""The box side of bench/density.py: the integration bridge sampled through ovsdbapp,
CPU seconds of the supervised programs (psutil), memory, and what a run left behind on
the box (Docker containers, links, OVS rows, libvirt domains)."""

import concurrent.futures
import itertools
import threading
import time

import docker
from ovsdbapp import exceptions as ovsdb_exc
import psutil
from pyroute2 import IPRoute
import requests

from bench import density_stats as stats
from hybridhost import supervisor_rpc
from hybridhost.render import supervisor as box_supervisor
from hybridhost.virt.docker import engine
from hybridhost.virt.docker import ovs
from hybridhost.virt.docker import vifs

PRIVSEP_HELPER = "privsep-helper"
WHOLE_BOX = "whole box (every process)"
VM_GUESTS = "VM guests (qemu)"
#: A VM counts as settled below this share of one core (its probe's fast rounds are over).
SETTLED_CORE_SHARE = 0.05
TAP_PREFIX = "tap"
NOVA_TAP_LENGTH = 14


def _first(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value


def bridge_ports(api, bridge):
    """``{port: (tag, instance)}`` of ``bridge`` (the Interface's vm-uuid), read in one
    ovsdbapp transaction."""
    with api.transaction(check_error=True) as txn:
        bridges = txn.add(api.db_list("Bridge", columns=["name", "ports"]))
        ports = txn.add(api.db_list("Port", columns=["_uuid", "name", "tag"]))
        ifaces = txn.add(api.db_list("Interface", columns=["name", "external_ids"]))
    on_bridge = next((set(row["ports"]) for row in bridges.result if row["name"] == bridge),
                     set())
    ids = {row["name"]: row["external_ids"] for row in ifaces.result}
    return {row["name"]: (_first(row["tag"]), ids.get(row["name"], {}).get("vm-uuid", ""))
            for row in ports.result if row["_uuid"] in on_bridge}


class BridgeSampler:
    """Samples the integration bridge every ``interval`` seconds in a thread, into a
    :class:`density_stats.DeadVlanWatch`; ``clock()`` gives each sample's time."""

    def __init__(self, conf, clock, interval=1.0):
        self.watch = stats.DeadVlanWatch()
        self.errors = []
        self._api = ovs.OvsPorts(conf.ovs.ovsdb_connection, owner=None).api
        self._bridge = conf.ovs.integration_bridge
        self._clock, self._interval = clock, interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bridge-sampler", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._done.set()
        self._thread.join(timeout=30)

    def _run(self):
        while not self._done.is_set():
            try:
                self.watch.observe(round(self._clock(), 1),
                                   bridge_ports(self._api, self._bridge))
            except (ovsdb_exc.OvsdbAppException, RuntimeError) as err:
                self.errors.append(str(err))
            self._done.wait(self._interval)


# --- CPU and memory ---------------------------------------------------------------


def _config_files(argv):
    return [value for flag, value in itertools.pairwise(argv) if flag == "--config-file"]


def _cmdline(pid):
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def program_roots(conf):
    """``{label: [pid]}``: each program of the box's group by name, every other program
    under its group, each with the privsep daemons started with one of its
    configuration files (they detach from the program that started them)."""
    client = supervisor_rpc.SupervisorClient(box_supervisor.socket_path(conf))
    roots, by_config = {}, {}
    for program in client.programs():
        if not program.pid:
            continue
        label = program.name if program.group == box_supervisor.BOX_GROUP else program.group
        roots.setdefault(label, []).append(program.pid)
        for path in _config_files(_cmdline(program.pid)):
            by_config.setdefault(path, label)
    for process in psutil.process_iter(["cmdline"]):
        argv = process.info["cmdline"] or []
        files = _config_files(argv)
        if any(arg.endswith(PRIVSEP_HELPER) for arg in argv[:2]) and files \
                and files[0] in by_config:
            roots[by_config[files[0]]].append(process.pid)
    return roots


def _tree_seconds(pids):
    """CPU seconds of the processes under ``pids`` and of their children that exited."""
    seen, total = set(), 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            tree = [root] + root.children(recursive=True)
        except psutil.Error:
            continue
        for process in tree:
            if process.pid in seen:
                continue
            seen.add(process.pid)
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


def vm_pids(server_ids):
    """The pids of the QEMU processes of the servers ``server_ids`` (``-uuid <id>``)."""
    wanted, found = set(server_ids), []
    for process in psutil.process_iter(["name", "cmdline"]):
        argv = process.info["cmdline"] or []
        if argv and "qemu" in (process.info["name"] or "") and any(
                flag == "-uuid" and value in wanted for flag, value in itertools.pairwise(argv)):
            found.append(process.pid)
    return found


def settle_vms(server_ids, timeout, window=5.0):
    """Wait (at most ``timeout`` s) until the VMs' QEMU processes together use less than
    SETTLED_CORE_SHARE of a core each over ``window`` s: the guests' probes ping their
    whole /24 every 2 s for their first rounds, which under TCG takes about a third of
    a core per VM. Returns ``(settled, seconds waited, last share of a core per VM)``."""
    pids = vm_pids(server_ids)
    started, share = time.monotonic(), 0.0
    while pids:
        before = _tree_seconds(pids)
        time.sleep(window)
        share = (_tree_seconds(pids) - before) / window / len(pids)
        waited = time.monotonic() - started
        if share < SETTLED_CORE_SHARE or waited >= timeout:
            return share < SETTLED_CORE_SHARE, waited, share
    return True, time.monotonic() - started, share


def cpu_seconds(conf, vm_server_ids=()):
    """``{label: CPU seconds so far}`` of every supervised program (see
    :func:`program_roots`), of the VMs ``vm_server_ids`` and of the whole box."""
    found = {label: _tree_seconds(pids) for label, pids in program_roots(conf).items()}
    if vm_server_ids:
        found[VM_GUESTS] = _tree_seconds(vm_pids(vm_server_ids))
    times = psutil.cpu_times()
    found[WHOLE_BOX] = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    return found


def used_memory():
    return psutil.virtual_memory().used


def container_memory_median(client, server_ids, workers=8):
    """The median memory (bytes, as ``docker stats``) of the containers of
    ``server_ids``, and how many answered."""
    def one(server_id):
        try:
            container = client.containers.get(engine.container_name(server_id))
            return stats.container_memory(container.stats(stream=False, one_shot=True))
        except (docker.errors.DockerException, requests.RequestException):
            return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        found = [value for value in pool.map(one, server_ids) if value is not None]
    return (stats.percentile(found, 0.5) if found else None), len(found)


# --- what a run leaves on the box -------------------------------------------------


def _link_names():
    with IPRoute() as ipr:
        return [link.get_attr("IFLA_IFNAME") for link in ipr.get_links()]


def box_leftovers(lab, server_ids, port_ids):
    """``{kind: [what]}`` of this run's servers and ports still on the box: the Docker
    side's containers, veths and taps, OVS Interface rows, libvirt domains."""
    servers, ports = set(server_ids), set(port_ids)
    containers = lab.docker().api.containers(all=True, filters={"label": engine.LABEL_UUID})
    names = {vifs.host_ifname(lab.conf.ovs.vif_prefix, port) for port in ports}
    names |= {(TAP_PREFIX + port)[:NOVA_TAP_LENGTH] for port in ports}
    rows = lab.ovsdb("Interface", [], ["name", "external_ids"])
    return {
        "docker containers": sorted(c["Names"][0].lstrip("/") for c in containers
                                    if (c["Labels"] or {}).get(engine.LABEL_UUID) in servers),
        "links": sorted(name for name in _link_names()
                        if name and (name in names or name[:-1] in names)),
        "ovs rows": sorted(row["name"] for row in rows if _row_is_ours(row, servers, ports)),
        "libvirt domains": _libvirt_domains(lab, servers),
    }


def _row_is_ours(row, servers, ports):
    ids = dict(row["external_ids"][1])
    return ids.get("iface-id") in ports or ids.get("vm-uuid") in servers


def _libvirt_domains(lab, servers):
    import libvirt

    connection = libvirt.open(lab.conf.libvirt.connection_uri)
    try:
        return sorted(domain.UUIDString() for domain in connection.listAllDomains()
                      if domain.UUIDString() in servers)
    finally:
        connection.close()


def docker_side_counts(lab):
    """What the Docker side holds on the box whoever made it (for context: other work
    may share the lab): its containers, ``<vif_prefix>*`` links, its OVS rows. Docker's
    list only (no per-container inspect, which a wedged container would hold up)."""
    owner = lab.plan.docker.host
    containers = lab.docker().api.containers(
        all=True, filters={"label": "%s=%s" % (engine.LABEL_HOST, owner)})
    rows = lab.ovsdb("Interface", [], ["external_ids"])
    return {"docker containers": len(containers),
            "links": sum(1 for name in _link_names()
                         if name and name.startswith(lab.conf.ovs.vif_prefix)),
            "ovs rows": sum(1 for row in rows
                            if dict(row["external_ids"][1]).get(ovs.OWNER_KEY) == owner)}
