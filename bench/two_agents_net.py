"""The lab side of bench/two_agents.py: port bindings, ping rounds between containers,
the repair after the old layout, deletes, and what a run changed or left."""

import concurrent.futures
import dataclasses
import os
import time

import docker
from openstack import exceptions as sdk_exc
from ovsdbapp import exceptions as ovsdb_exc
import psutil
import requests

from bench import density_box as box
from bench import density_nova as nova
from bench import two_agents_agent as second
from bench import two_agents_stats as stats
from hybridhost.virt.docker import engine
from hybridhost.virt.docker import ovs
from hybridhost.virt.docker import vifs
from tests.e2e import lab as e2e

PING_ATTEMPTS = 2
PING_WORKERS = 6
REPAIR_TIMEOUT = 180
LEFTOVER_GRACE_S = 30
FAILED_VIF_TYPES = ("binding_failed", "unbound")
GB = 2 ** 30


# --- bindings ---------------------------------------------------------------------


def bind_ports(lab, server_id, host):
    """Bind every port of ``server_id`` to ``host`` (admin: binding:host_id); the
    problems, one string each."""
    problems = []
    try:
        ports = list(lab.conn.network.ports(device_id=server_id))
        for port in ports:
            updated = lab.conn.network.update_port(port, binding_host_id=host)
            if updated.binding_vif_type in FAILED_VIF_TYPES:
                problems.append("port %s of %s: binding to %s gave vif_type %s" % (
                    port.id, server_id, host, updated.binding_vif_type))
    except sdk_exc.SDKException as err:
        problems.append("binding the ports of %s to %s: %s" % (server_id, host, err))
    return problems


def port_map(lab, network, records):
    """``{port id: container name}`` of ``records``' ports on ``network``."""
    names = {record.server_id: record.name for record in records if record.server}
    return {port.id: names[port.device_id]
            for port in lab.conn.network.ports(network_id=network.id)
            if port.device_id in names}


def port_names(lab, ports):
    """``{OVS port name: container name}`` of ``ports`` (``{port id: name}``)."""
    return {vifs.host_ifname(lab.conf.ovs.vif_prefix, port_id): name
            for port_id, name in ports.items()}


def ports_with_iface_id(lab, api):
    """The integration bridge's ports that carry a neutron port (an ``iface-id``): the
    ports an agent on it takes for its own."""
    on_bridge = box.bridge_ports(api, lab.conf.ovs.integration_bridge)
    return sorted(row["name"] for row in lab.ovsdb("Interface", [], ["name", "external_ids"])
                  if row["name"] in on_bridge and "iface-id" in dict(row["external_ids"][1]))


# --- ping rounds ------------------------------------------------------------------


def _pids(lab, records):
    client, found = lab.docker(), []
    for record in records:
        pid = None
        if record.error is None and record.server is not None:
            try:
                pid = client.containers.get(
                    engine.container_name(record.server_id)).attrs["State"]["Pid"]
            except (docker.errors.DockerException, requests.RequestException):
                pid = None
        found.append(pid)
    return found


def _ping(pid, address):
    if not pid or not address:
        return False
    prefix = e2e.in_container_netns(pid)
    return any(e2e.ping_from_namespace(prefix, address) for _ in range(PING_ATTEMPTS))


def ping_round(pool, pids, addresses):
    """``{(source, target): reached}`` for the ring's pairs (stats.ring_pairs)."""
    pairs = stats.ring_pairs(len(pids))
    reached = pool.map(lambda pair: _ping(pids[pair[0]], addresses[pair[1]]), pairs)
    return dict(zip(pairs, reached, strict=True))


def ping_rounds(lab, records, period, interval, clock):
    """``[(clock(), results)]``: ping rounds for ``period`` s, at least ``interval`` s
    apart, each pair tried up to PING_ATTEMPTS times."""
    pids, addresses = _pids(lab, records), [record.ip for record in records]
    rounds, deadline = [], time.monotonic() + period
    with concurrent.futures.ThreadPoolExecutor(max_workers=PING_WORKERS) as pool:
        while time.monotonic() < deadline:
            began, at = time.monotonic(), round(clock(), 1)
            rounds.append((at, ping_round(pool, pids, addresses)))
            time.sleep(max(0.0, interval - (time.monotonic() - began)))
    return rounds


# --- the lab before and after -----------------------------------------------------


@dataclasses.dataclass
class Baseline:
    """What the lab held before the scenario: its agents and the ports already on VLAN
    4095 (someone else's problem), to tell what the scenario changed."""

    api: object
    bridge: str
    agents: set
    dead: set

    @classmethod
    def take(cls, lab):
        api = ovs.OvsPorts(lab.conf.ovs.ovsdb_connection, owner=None).api
        bridge = lab.conf.ovs.integration_bridge
        return cls(api, bridge, _agents(lab), _dead_ports(api, bridge))

    def new_dead(self):
        return sorted(_dead_ports(self.api, self.bridge) - self.dead)

    def changes(self, lab):
        """What differs from before, one string each."""
        problems = []
        now = _agents(lab)
        problems += ["neutron agent %s (%s) is new" % item for item in sorted(now - self.agents)]
        problems += ["neutron agent %s (%s) is gone" % item
                     for item in sorted(self.agents - now)]
        problems += ["port %s is on VLAN 4095 and was not before" % name
                     for name in self.new_dead()]
        if not second.has_canary(self.bridge):
            problems.append("%s has no canary flow: the lab's agent has not set it up" %
                            self.bridge)
        return problems


def _agents(lab):
    return {(agent.id, agent.host) for agent in lab.conn.network.agents()}


def _dead_ports(api, bridge):
    return {name for name, (tag, _) in box.bridge_ports(api, bridge).items()
            if tag == stats.DEAD_VLAN}


def machine():
    memory = psutil.virtual_memory().total / GB
    return "%d CPUs, %.0f GB RAM, load average %.1f at the start" % (
        psutil.cpu_count(), memory, os.getloadavg()[0])


# --- the repair -------------------------------------------------------------------


def repair(lab, agent, layout, baseline, progress):
    """Undo the old layout (see bench/two_agents_agent.py); the problems."""
    problems = []
    progress("stopping the second agent")
    agent.stop()
    problems += ["process %d of the second agent still runs" % process.pid
                 for process in agent.processes()]
    try:
        agent.remove_controller()
        if agent.controllers() != agent.controllers_before:
            problems.append("the bridges' controllers are %s, were %s" % (
                agent.controllers(), agent.controllers_before))
    except (ovsdb_exc.OvsdbAppException, RuntimeError) as err:
        problems.append("the second agent's controller: %s" % err)
    progress("binding the containers' ports to %s again" % lab.plan.agent.host)
    for record in layout.records:
        if record.server is not None:
            problems += bind_ports(lab, record.server_id, lab.plan.agent.host)
    problems += agent.forget(lab.conn)
    removed = {}
    try:
        removed = agent.remove_flows()
        progress("deleted the flows with cookies new since it started: %s" % removed)
        progress("deleting the canary flow: the lab's agent sets its bridges up again")
        second.delete_canary(baseline.bridge)
    except RuntimeError as err:
        problems.append(str(err))
    problems += wait_repaired(lab, layout, baseline, progress)
    try:
        problems += ["flows with cookies %s are back on %s" % (sorted(left), name)
                     for name, left in ((name, set(values) & second.cookies(name))
                                        for name, values in removed.items()) if left]
    except RuntimeError as err:
        problems.append(str(err))
    if not agent.remove_files():
        problems.append("%s is left" % agent.workdir)
    return problems


def _not_repaired(lab, layout, baseline, pool, pids):
    """Why the box is not repaired yet (empty: it is)."""
    why = []
    if not second.has_canary(baseline.bridge):
        why.append("no canary flow yet")
    if not any(agent.is_alive for agent in lab.conn.network.agents(
            host=lab.plan.agent.host, binary=second.PROGRAM)):
        why.append("the lab's agent is not alive")
    dead = baseline.new_dead()
    if dead:
        why.append("on VLAN 4095: %s" % ", ".join(dead))
    cut = stats.cut_off(ping_round(pool, pids, [r.ip for r in layout.records]),
                        len(layout.records))
    alive = [i for i, pid in enumerate(pids) if pid]
    if any(i in alive for i in cut):
        why.append("cut off: %s" % ", ".join(layout.records[i].name for i in cut))
    return why


def wait_repaired(lab, layout, baseline, progress, timeout=REPAIR_TIMEOUT):
    """Wait until the lab's agent has rewired the bridge; the problems."""
    pids, deadline, why = _pids(lab, layout.records), time.monotonic() + timeout, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=PING_WORKERS) as pool:
        while time.monotonic() < deadline:
            try:
                why = _not_repaired(lab, layout, baseline, pool, pids)
            except (RuntimeError, sdk_exc.SDKException) as err:
                why = [str(err)]
            if not why:
                progress("the lab's agent rewired the bridge; the containers reach "
                         "each other again")
                return []
            time.sleep(3)
    return ["not repaired after %ds: %s" % (timeout, "; ".join(why))]


# --- deletes and leftovers --------------------------------------------------------


def clean_up(lab, targets, layout, concurrency, progress):
    """Delete the layout's containers and show nothing is left; the problems."""
    servers = [record.server for record in layout.records if record.server is not None]
    progress("deleting %d containers, %d at a time" % (len(servers), concurrency))
    problems = nova.delete_all(lab, servers, concurrency)
    server_ids = [server.id for server in servers]
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    while True:
        found = _cloud_leftovers(lab, targets.network, server_ids, list(layout.ports))
        found.update(box.box_leftovers(lab, server_ids, list(layout.ports)))
        if not any(found.values()) or time.monotonic() > deadline:
            break
        time.sleep(2)
    left = ["left: %s %s" % (kind, ", ".join(things)) for kind, things in found.items()
            if things]
    progress("nothing left" if not left else "; ".join(left))
    return problems + left


def _cloud_leftovers(lab, network, server_ids, port_ids):
    servers, ports = set(server_ids), set(port_ids)
    return {"servers": [s.id for s in lab.conn.compute.servers(all_projects=True)
                        if s.id in servers],
            "neutron ports": sorted(port.id for port in
                                    lab.conn.network.ports(network_id=network.id)
                                    if port.id in ports or port.device_id in servers)}


def forget_image(lab, targets, image):
    """Delete the scenario's image from glance and Docker; the problems."""
    problems = nova.forget_image(lab, image)
    left = nova.cloud_leftovers(lab, targets.network, [], [], image.id)
    return problems + ["left: %s %s" % (kind, ", ".join(things))
                       for kind, things in left.items() if things]
