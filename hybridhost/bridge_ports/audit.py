"""Who owns each port of the integration bridge and what is wrong with it (pure).

Owners:

* ``docker``: ``external_ids:hybridhost-owner`` names the Docker side's nova-compute
  host (the Docker driver plugged it);
* ``libvirt``: a ``tap*`` port with an ``iface-id`` and a ``vm-uuid`` and no
  hybridhost owner (os-vif/libvirt plugged it for a VM);
* ``agent``: the bridge's own internal port, patch ports (``patch-tun``,
  ``int-br-*``) and neutron agents' ``tap*`` ports without a ``vm-uuid`` (DHCP);
* ``unknown``: anything else, including ports another hybridhost host owns.

Only the Docker side's problems are repairable, and only two ways: re-plug a VIF of
a running container from the driver's saved spec, or remove a port of ours whose
container is gone or stopped. Nothing else is ever planned.
"""

import collections
from collections.abc import Mapping
import dataclasses

OWNER_KEY = "hybridhost-owner"  # the Docker driver's key (virt.docker.ovs.OWNER_KEY)
DOCKER, LIBVIRT, AGENT, UNKNOWN = "docker", "libvirt", "agent", "unknown"
OWNERS = (DOCKER, LIBVIRT, AGENT, UNKNOWN)
DEAD_VLAN = 4095
RUNNING_STATES = ("running", "paused", "restarting")
STARTING_STATE = "created"  # the driver plugs the host half before it starts a container
REPLUG, REMOVE = "replug", "remove"
NETNS_YES, NETNS_NO, NETNS_UNKNOWN, NETNS_NA = "yes", "no", "unknown", ""


@dataclasses.dataclass(frozen=True)
class PortRow:
    """One Interface of a Port on the bridge, as OVSDB has it."""

    name: str
    type: str = ""
    tag: int | None = None
    ofport: int | None = None  # None: not assigned yet; -1: ovs-vswitchd could not open it
    link_state: str | None = None
    error: str | None = None
    external_ids: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def vm_uuid(self):
        return self.external_ids.get("vm-uuid", "")


@dataclasses.dataclass(frozen=True)
class Container:
    """One container of the Docker side (by its labels)."""

    uuid: str
    status: str
    pid: int = 0
    netns: str = ""  # Docker's sandbox path, where the privileged helper looks

    @property
    def running(self):
        return self.status in RUNNING_STATES


@dataclasses.dataclass(frozen=True)
class SavedVif:
    """One VIF of an instance as the Docker driver saved it (its VifSpec, in short)."""

    uuid: str
    host_ifname: str
    port_id: str
    mac: str
    ifname: str
    bridge: str


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Everything the audit looks at, read at one moment."""

    bridge: str
    owner: str  # the Docker side's nova-compute host
    prefix: str  # [ovs] vif_prefix
    rows: tuple[PortRow, ...]
    containers: tuple[Container, ...] = ()
    saved: tuple[SavedVif, ...] = ()
    netns: Mapping[str, bool | None] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Problem:
    code: str
    detail: str
    repair: str | None = None  # REPLUG, REMOVE or None (reported only)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of the report: a port on the bridge, or a VIF that should be there."""

    port: str
    owner: str
    instance: str = ""
    tag: int | None = None
    ofport: int | None = None
    link: str | None = None
    netns: str = NETNS_NA
    on_bridge: bool = True
    problems: tuple[Problem, ...] = ()


@dataclasses.dataclass(frozen=True)
class Action:
    kind: str  # REPLUG or REMOVE
    port: str
    instance: str


@dataclasses.dataclass(frozen=True)
class Report:
    bridge: str
    owner: str
    entries: tuple[Entry, ...]
    notes: tuple[str, ...] = ()

    @property
    def problems(self):
        return [(entry, problem) for entry in self.entries for problem in entry.problems]

    def owner_counts(self):
        counts = collections.Counter(e.owner for e in self.entries if e.on_bridge)
        return {owner: counts.get(owner, 0) for owner in OWNERS}


# --- owners ------------------------------------------------------------------------


def owner_of(row, snapshot):
    """DOCKER, LIBVIRT, AGENT or UNKNOWN for ``row`` (see the module's docstring)."""
    hybridhost_owner = row.external_ids.get(OWNER_KEY)
    if hybridhost_owner:
        return DOCKER if hybridhost_owner == snapshot.owner else UNKNOWN
    if row.type == "patch" or row.name == snapshot.bridge or row.name.startswith("int-br-"):
        return AGENT
    if row.name.startswith("tap") and row.external_ids.get("iface-id"):
        return LIBVIRT if row.vm_uuid else AGENT
    return UNKNOWN


# --- what the Docker side expects ----------------------------------------------------


def expected_vifs(snapshot):
    """``{host_ifname: (SavedVif, Container)}``: the saved VIFs of running containers on
    this bridge (what must be plugged; the netns check looks at exactly these)."""
    running = {c.uuid: c for c in snapshot.containers if c.running}
    return {vif.host_ifname: (vif, running[vif.uuid]) for vif in snapshot.saved
            if vif.uuid in running and vif.bridge == snapshot.bridge}


def _netns_word(snapshot, name):
    if name not in snapshot.netns:
        return NETNS_UNKNOWN
    return {True: NETNS_YES, False: NETNS_NO}.get(snapshot.netns[name], NETNS_UNKNOWN)


# --- problems ----------------------------------------------------------------------


def _switch_problems(row, repair=None):
    """Problems any owner's port can have: dead VLAN, no OpenFlow port."""
    problems = []
    if row.tag == DEAD_VLAN:
        problems.append(Problem("dead-vlan", "tag 4095, the agent could not wire it"))
    if row.ofport is None or row.ofport <= 0:
        detail = ("no OpenFlow port yet" if row.ofport is None
                  else "ovs-vswitchd could not open it")
        if row.error:
            detail += ": %s" % row.error
        problems.append(Problem("no-ofport", detail, repair))
    return problems


def _unwired(row):
    """The unwired problem of a VIF with an OpenFlow port and no VLAN tag (the agent has
    not wired it: a boot in progress, or a port it dropped), as a list."""
    if row.tag is not None or row.ofport is None or row.ofport <= 0:
        return []
    return [Problem("unwired", "no VLAN tag: the OVS agent has not wired it")]


def _orphan(row, containers):
    """The orphan problem of a port of ours, or None when its container is alive."""
    container = containers.get(row.vm_uuid)
    if container is None:
        return Problem("orphan", "its instance has no container", REMOVE)
    if container.running or container.status == STARTING_STATE:
        return None
    return Problem("orphan", "its container is %s" % container.status, REMOVE)


def _mismatch(row, vif):
    found = (row.external_ids.get("iface-id", ""), row.external_ids.get("attached-mac", ""))
    if found == (vif.port_id, vif.mac):
        return None
    return Problem("vif-broken", "the OVS row says port %s mac %s, the saved spec %s %s"
                   % (found + (vif.port_id, vif.mac)), REPLUG)


def _vif_problems(row, vif, snapshot):
    """What is wrong with the port of a running container's saved VIF: re-pluggable, but
    for a missing VLAN tag (the agent's to fix)."""
    problems = _switch_problems(row, REPLUG)
    problems += _unwired(row)
    mismatch = _mismatch(row, vif)
    if mismatch is not None:
        problems.append(mismatch)
    if snapshot.netns.get(row.name) is False:
        problems.append(Problem("vif-broken", "the container's end is gone or down", REPLUG))
    return problems


def _docker_problems(row, snapshot, containers, expected):
    naming = [] if row.name.startswith(snapshot.prefix) else [Problem(
        "bad-name", "owned by the Docker side but not named %s*" % snapshot.prefix)]
    orphan = _orphan(row, containers)
    if orphan is not None:
        return _switch_problems(row) + naming + [orphan]
    if not containers[row.vm_uuid].running:  # starting: the driver is plugging it
        return _switch_problems(row) + naming
    vif = expected.get(row.name, (None,))[0]
    if vif is None or vif.uuid != row.vm_uuid:
        return _switch_problems(row) + naming + [Problem(
            "unexpected", "not among its instance's saved VIFs")]
    return _vif_problems(row, vif, snapshot) + naming


def _foreign_problems(row, owner, snapshot, expected):
    problems = _switch_problems(row)
    if owner == LIBVIRT:
        problems += _unwired(row)
    if owner == UNKNOWN and row.name.startswith(snapshot.prefix):
        other = row.external_ids.get(OWNER_KEY)
        problems.append(Problem("stray", "named like the Docker side's VIFs but %s" % (
            "owned by %r" % other if other else "without a hybridhost owner")))
    if row.name in expected:
        problems.append(Problem("name-taken", "instance %s's VIF has this name, but this "
                                "port is not the Docker side's" % expected[row.name][0].uuid))
    return problems


# --- the report --------------------------------------------------------------------


def _row_entry(row, snapshot, containers, expected):
    owner = owner_of(row, snapshot)
    if owner == DOCKER:
        problems = _docker_problems(row, snapshot, containers, expected)
        netns = _netns_word(snapshot, row.name) if row.name in expected else NETNS_NA
    else:
        problems = _foreign_problems(row, owner, snapshot, expected)
        netns = NETNS_NA
    return Entry(port=row.name, owner=owner, instance=row.vm_uuid, tag=row.tag,
                 ofport=row.ofport, link=row.link_state, netns=netns,
                 problems=tuple(problems))


def _missing_entry(vif, snapshot):
    return Entry(port=vif.host_ifname, owner=DOCKER, instance=vif.uuid,
                 netns=_netns_word(snapshot, vif.host_ifname), on_bridge=False,
                 problems=(Problem("vif-missing", "its instance runs, this VIF has no port "
                                   "on %s" % snapshot.bridge, REPLUG),))


def audit(snapshot):
    """The :class:`Report` of ``snapshot``: one entry per port, then the missing VIFs."""
    containers = {c.uuid: c for c in snapshot.containers}
    expected = expected_vifs(snapshot)
    names = {row.name for row in snapshot.rows}
    entries = [_row_entry(row, snapshot, containers, expected)
               for row in sorted(snapshot.rows, key=lambda r: r.name)]
    entries += [_missing_entry(vif, snapshot)
                for name, (vif, _container) in sorted(expected.items()) if name not in names]
    return Report(bridge=snapshot.bridge, owner=snapshot.owner, entries=tuple(entries),
                  notes=snapshot.notes)


def plan_repair(report):
    """The actions that fix the Docker side's repairable problems, one per port.

    Only entries owned by the Docker side are ever considered; every other port is
    reported and left alone, however broken it looks.
    """
    actions = []
    for entry in report.entries:
        if entry.owner != DOCKER:
            continue
        kinds = {p.repair for p in entry.problems if p.repair}
        kind = REMOVE if REMOVE in kinds else REPLUG if REPLUG in kinds else None
        if kind:
            actions.append(Action(kind=kind, port=entry.port, instance=entry.instance))
    return tuple(actions)
