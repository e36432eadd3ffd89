"""The live box behind an audit: OVSDB, the Docker engine, the saved VIF specs, netns.

:class:`LiveBox` reads a :class:`~.audit.Snapshot` (the bridge's rows from the ovsdbapp
IDL, the Docker side's containers through its :class:`Engine`, the specs the Docker
driver saved per instance, each expected VIF's end through the privileged
``veth_intact``) and applies repair actions through the driver's own
:class:`VifPlugger`, re-checking just before each one that the port is the Docker
side's.
"""

import dataclasses
import logging

from hybridhost import exception
from hybridhost.bridge_ports import audit
import hybridhost.privileged.net
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import ovs
from hybridhost.virt.docker import vifs

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where the Docker side's things are (from hybridhost.conf and the box plan)."""

    bridge: str
    owner: str  # the Docker side's nova-compute host
    prefix: str
    ovsdb_connection: str
    docker_url: str
    docker_api_version: str
    instances_path: str  # where the Docker driver saves each instance's VIF specs


def _first(value):
    """The value of an optional OVSDB column (a list of zero or one item)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def read_rows(api, bridge):
    """Every Interface of every Port of ``bridge`` as :class:`audit.PortRow` (IDL cache,
    read under the connection's lock: see :mod:`hybridhost.virt.docker.ovs`)."""
    with api.ovsdb_connection.lock:
        bridge_row = next((row for row in api.tables["Bridge"].rows.values()
                           if row.name == bridge), None)
        if bridge_row is None:
            raise exception.BridgeMissing(bridge=bridge)
        return tuple(audit.PortRow(
            name=iface.name, type=iface.type, tag=_first(port.tag), ofport=_first(iface.ofport),
            link_state=_first(iface.link_state), error=_first(iface.error),
            external_ids=dict(iface.external_ids))
            for port in bridge_row.ports for iface in port.interfaces)


def read_saved(store, containers):
    """The saved VIFs of ``containers``, and a note for each spec file that is unreadable."""
    saved, notes = [], []
    for container in containers:
        try:
            specs = store.load(container.uuid)
        except exception.VifSpecCorrupt as err:
            notes.append("cannot read the saved VIFs of instance %s: %s" % (container.uuid, err))
            continue
        saved += [audit.SavedVif(uuid=container.uuid, host_ifname=s.host_ifname,
                                 port_id=s.port_id, mac=s.mac, ifname=s.ifname,
                                 bridge=s.bridge) for s in specs]
    return tuple(saved), tuple(notes)


def check_netns(net, expected):
    """``({host_ifname: bool | None}, notes)``: whether each container still holds its end.

    A process that is gone counts as "no"; when the privileged helper itself fails,
    the rest is "unknown" and one note says why.
    """
    results, failure = {}, None
    for name, (vif, container) in sorted(expected.items()):
        if failure is not None:
            results[name] = None
            continue
        try:
            results[name] = bool(net.veth_intact(name, container.netns, vif.ifname, vif.mac))
        except ValueError:
            results[name] = False
        except Exception as err:  # noqa: BLE001 - privsep's start-up errors have no common base
            LOG.debug("netns check of %s failed", name, exc_info=True)
            failure, results[name] = err, None
    notes = ("could not check the containers' namespaces: %s" % failure,) if failure else ()
    return results, notes


class LiveBox:
    """The Docker side's ports, containers and specs, live."""

    def __init__(self, settings, ovs_ports, engine, spec_store, net=hybridhost.privileged.net,
                 rows=None):
        self.settings = settings
        self.ovs = ovs_ports
        self.engine = engine
        self.specs = spec_store
        self.net = net
        self._rows = rows or (lambda bridge: read_rows(self.ovs.api, bridge))

    @classmethod
    def connect(cls, settings):
        ovs_ports = ovs.OvsPorts(settings.ovsdb_connection, owner=settings.owner)
        engine = engine_mod.Engine.connect(settings.docker_url, settings.docker_api_version,
                                           settings.owner)
        return cls(settings, ovs_ports, engine, vifs.SpecStore(settings.instances_path))

    @property
    def plugger(self):
        return vifs.VifPlugger(self.ovs, self.net)

    def snapshot(self):
        settings = self.settings
        rows = self._rows(settings.bridge)
        containers = tuple(audit.Container(uuid=info.uuid, status=info.status, pid=info.pid,
                                           netns=info.sandbox)
                           for info in self.engine.list_own())
        saved, notes = read_saved(self.specs, containers)
        partial = audit.Snapshot(bridge=settings.bridge, owner=settings.owner,
                                 prefix=settings.prefix, rows=rows, containers=containers,
                                 saved=saved)
        netns, netns_notes = check_netns(self.net, audit.expected_vifs(partial))
        return dataclasses.replace(partial, netns=netns, notes=notes + netns_notes)

    def apply(self, action):
        """Carry out one :class:`audit.Action`; VifRepairRefused when it is not ours to do."""
        if action.kind == audit.REMOVE:
            self._remove(action.port)
        elif action.kind == audit.REPLUG:
            self._replug(action.port, action.instance)
        else:
            raise exception.VifRepairRefused(port=action.port,
                                             reason="unknown action %r" % action.kind)

    def _own_port(self, name):
        """The OVS row ``name`` (None if gone); refuses a row the Docker side does not own."""
        port = self.ovs.get_port(name)
        if port is not None and port.owner != self.settings.owner:
            raise exception.VifRepairRefused(
                port=name, reason="owned by %r, not the Docker side (%r)"
                % (port.owner, self.settings.owner))
        return port

    def _remove(self, name):
        port = self._own_port(name)
        if port is None:
            return
        container = self.engine.find(port.vm_uuid) if port.vm_uuid else None
        if container is not None and (container.running
                                      or container.status == audit.STARTING_STATE):
            raise exception.VifRepairRefused(port=name, reason="the container of instance %s "
                                             "is %s now" % (port.vm_uuid, container.status))
        self.plugger.unplug(vifs.VifSpec(
            port_id=port.iface_id, mac=port.mac, host_ifname=name, ifname="eth0",
            bridge=port.bridge, mtu=vifs.DEFAULT_MTU, addresses=(), routes=()))
        LOG.info("Removed orphan port %(name)s of instance %(uuid)s",
                 {"name": name, "uuid": port.vm_uuid})

    def _replug(self, name, uuid):
        self._own_port(name)
        container = self.engine.find(uuid)
        if container is None or not container.running:
            raise exception.VifRepairRefused(port=name,
                                             reason="instance %s is not running" % uuid)
        spec = next((s for s in self.specs.load(uuid) if s.host_ifname == name), None)
        if spec is None:
            raise exception.VifRepairRefused(
                port=name, reason="instance %s has no saved spec for it" % uuid)
        self.plugger.ensure(uuid, container.sandbox, spec)
