"""VIF plug/unplug orchestration: neutron port (nova VIF) -> veth + OVS row.

:func:`specs_from_network_info` turns nova's network_info into frozen
:class:`VifSpec` values (pure). :class:`VifPlugger` applies one spec: the privileged
veth step first (``hybridhost.privileged.net``), then one OVSDB transaction; a failed
OVS step removes the veth again. :class:`SpecStore` remembers the specs of each
instance on disk so that a restarted container (or nova-compute) can be re-plugged
without asking the control plane.
"""

import dataclasses
import ipaddress
import json
import logging
import os

from hybridhost import exception
import hybridhost.privileged.net

LOG = logging.getLogger(__name__)

HOST_IFNAME_MAX = 14
DEFAULT_MTU = 1500
DEFAULT_ROUTES = {4: "0.0.0.0/0", 6: "::/0"}


@dataclasses.dataclass(frozen=True)
class VifSpec:
    port_id: str
    mac: str
    host_ifname: str
    ifname: str
    bridge: str
    mtu: int
    addresses: tuple  # 'ip/prefix' strings
    routes: tuple  # (cidr, gateway) pairs

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        data = dict(data, addresses=tuple(data["addresses"]),
                    routes=tuple(tuple(r) for r in data["routes"]))
        return cls(**data)


def host_ifname(prefix, port_id):
    """'<prefix><port_id...>' cut to 14 characters (nova's tap names are 'tap'+11)."""
    return (prefix + port_id)[:HOST_IFNAME_MAX]


def waiting_peer_ifname(spec):
    """The container end's name while it waits in the host's netns (15 characters at most)."""
    return spec.host_ifname + "p"


def _subnet_parts(subnet, want_default):
    """(addresses, routes, versions that got a default route) of one subnet."""
    net = ipaddress.ip_network(subnet["cidr"])
    addresses = ["%s/%d" % (ip["address"], net.prefixlen) for ip in subnet.get("ips") or []]
    routes = []
    for route in subnet.get("routes") or []:
        gateway = (route.get("gateway") or {}).get("address")
        if gateway:
            routes.append((str(ipaddress.ip_network(route["cidr"])), gateway))
    gateway = (subnet.get("gateway") or {}).get("address")
    defaults = set()
    if gateway and addresses and net.version in want_default:
        routes.append((DEFAULT_ROUTES[net.version], gateway))
        defaults.add(net.version)
    return addresses, routes, defaults


def spec_for(vif, index, prefix, default_bridge, want_default=(4, 6)):
    """The spec of ``vif`` as the container's eth<index>; returns (spec, defaults used)."""
    network = vif["network"]
    addresses, routes, defaults = [], [], set()
    for subnet in network.get("subnets") or []:
        sub_addrs, sub_routes, sub_defaults = _subnet_parts(subnet, set(want_default) - defaults)
        addresses += sub_addrs
        routes += sub_routes
        defaults |= sub_defaults
    details = vif.get("details") or {}
    meta = network.get("meta") or {}
    spec = VifSpec(port_id=vif["id"], mac=str(vif["address"]).lower(),
                   host_ifname=host_ifname(prefix, vif["id"]), ifname="eth%d" % index,
                   bridge=details.get("bridge_name") or network.get("bridge") or default_bridge,
                   mtu=int(meta.get("mtu") or DEFAULT_MTU), addresses=tuple(addresses),
                   routes=tuple(routes))
    return spec, defaults


def specs_from_network_info(network_info, prefix, default_bridge):
    """One spec per VIF, eth0.. in network_info order; each IP version gets one default route."""
    specs, wanted = [], {4, 6}
    for index, vif in enumerate(network_info or []):
        spec, used = spec_for(vif, index, prefix, default_bridge, want_default=wanted)
        wanted -= used
        specs.append(spec)
    return specs


def next_spec(existing, vif, prefix, default_bridge):
    """The spec of an interface attached after ``existing`` specs (next free ethN)."""
    used = {int(s.ifname[3:]) for s in existing}
    index = next(i for i in range(len(used) + 1) if i not in used)
    have_default = {ipaddress.ip_network(r[0]).version for s in existing for r in s.routes
                    if r[0] in DEFAULT_ROUTES.values()}
    return spec_for(vif, index, prefix, default_bridge, want_default={4, 6} - have_default)[0]


def _addressing(spec):
    """(addresses, routes) of ``spec`` as the privileged entrypoints take them (lists)."""
    return list(spec.addresses), [list(r) for r in spec.routes]


def _log_plugged(uuid, spec):
    LOG.info("Port %(port)s plugged into instance %(uuid)s as %(ifname)s (%(host)s)",
             {"port": spec.port_id, "uuid": uuid, "ifname": spec.ifname,
              "host": spec.host_ifname})


@dataclasses.dataclass(frozen=True)
class ScanView:
    """The host ends that are up (names) and the OVS rows (by name), read once a scan."""

    veths_up: frozenset
    ports: dict


class VifPlugger:
    """Plugs specs into a running container and unplugs them.

    A container is named by its network namespace: Docker's sandbox path
    (``ContainerInfo.sandbox``), which the privileged helper opens.
    """

    def __init__(self, ovs_ports, net=hybridhost.privileged.net):
        self.ovs = ovs_ports
        self.net = net

    def plug(self, uuid, netns, spec):
        """Both halves at once, into a running container (re-plugs)."""
        try:
            self.net.plug_veth(spec.host_ifname, netns, spec.ifname, spec.mac, spec.mtu,
                               *_addressing(spec))
        except Exception as err:
            raise exception.VifPlugFailed(port_id=spec.port_id, uuid=uuid, reason=err) from err
        self._onto_bridge(uuid, spec)
        _log_plugged(uuid, spec)

    def prepare(self, uuid, spec):
        """Host half of a plug, before the container runs: the veth pair and the OVS port,
        so the agent can notice the port while Docker starts the container."""
        try:
            self.net.create_veth(spec.host_ifname, waiting_peer_ifname(spec), spec.mac, spec.mtu)
        except Exception as err:
            raise exception.VifPlugFailed(port_id=spec.port_id, uuid=uuid, reason=err) from err
        self._onto_bridge(uuid, spec)

    def attach(self, uuid, netns, spec):
        """Second half: the prepared peer into the container (``netns``) as its interface."""
        try:
            self.net.move_peer(spec.host_ifname, waiting_peer_ifname(spec), netns, spec.ifname,
                               *_addressing(spec))
        except Exception as err:
            self.ovs.delete_port(spec.host_ifname)
            raise exception.VifPlugFailed(port_id=spec.port_id, uuid=uuid, reason=err) from err
        _log_plugged(uuid, spec)

    def _onto_bridge(self, uuid, spec):
        """The veth's host end as the OVS port of ``spec``; the veth goes if OVSDB refuses."""
        try:
            self.ovs.add_port(spec.bridge, spec.host_ifname, spec.port_id, spec.mac, uuid, spec.mtu)
        except Exception as err:
            self._delete_veth(spec)
            raise exception.VifPlugFailed(port_id=spec.port_id, uuid=uuid, reason=err) from err

    def _delete_veth(self, spec):
        try:
            return self.net.delete_veth(spec.host_ifname)
        except Exception as err:
            raise exception.VifUnplugFailed(port_id=spec.port_id, reason=err) from err

    def unplug(self, spec):
        """Remove the OVS row (if ours) and the veth. Idempotent."""
        self.ovs.delete_port(spec.host_ifname)
        if self._delete_veth(spec):
            LOG.info("Port %(port)s unplugged (%(host)s)",
                     {"port": spec.port_id, "host": spec.host_ifname})

    def row_intact(self, spec):
        """True when the OVS row of ``spec`` is ours, for its port, with an OpenFlow port."""
        return self._port_intact(spec, self.ovs.get_port(spec.host_ifname))

    def _port_intact(self, spec, port):
        if port is None or port.iface_id != spec.port_id or port.mac != spec.mac:
            return False
        return port.owner == self.ovs.owner and port.ofport is not None and port.ofport > 0

    def scan_view(self, prefix):
        """What the periodic scan checks each VIF against, read once for a whole scan:
        the host ends (named with ``prefix``) that are up, and every OVS row by name."""
        return ScanView(frozenset(self.net.host_veths_up(prefix)), self.ovs.all_ports())

    def looks_intact(self, spec, view):
        """The periodic scan's cheap check, without entering the container: its OVS row
        and its host end (in ``view``). A restarted or killed container lost its
        namespace and so both veth ends; a deleted veth or row shows here too."""
        return (spec.host_ifname in view.veths_up
                and self._port_intact(spec, view.ports.get(spec.host_ifname)))

    def intact(self, netns, spec):
        """True when the veth and the OVS row of ``spec`` are both in place for ``netns``."""
        if not self.row_intact(spec):
            return False
        try:
            return bool(self.net.veth_intact(spec.host_ifname, netns, spec.ifname, spec.mac))
        except Exception:
            LOG.debug("Could not check veth %s", spec.host_ifname, exc_info=True)
            return False

    def ensure(self, uuid, netns, spec):
        """Plug ``spec`` unless it is already intact. True if it plugged."""
        if self.intact(netns, spec):
            return False
        self.plug(uuid, netns, spec)
        return True


def _fsync_directory(directory):
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpecStore:
    """The VIF specs of each instance, one JSON file per instance under ``directory``."""

    def __init__(self, directory):
        self.directory = directory

    def _path(self, uuid):
        return os.path.join(self.directory, uuid, "hybridhost-vifs.json")

    def load(self, uuid):
        """The saved specs of ``uuid`` ([] when none); :class:`VifSpecCorrupt` when the
        file cannot be read as specs."""
        path = self._path(uuid)
        try:
            with open(path) as fileobj:
                return [VifSpec.from_dict(d) for d in json.load(fileobj)]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
            raise exception.VifSpecCorrupt(uuid=uuid, path=path, reason=err) from err

    def load_or_empty(self, uuid):
        """Like :meth:`load`, but a corrupt file is a warning and [] (for clean-ups that
        find the VIFs elsewhere too)."""
        try:
            return self.load(uuid)
        except exception.VifSpecCorrupt as err:
            LOG.warning("%s", err)
            return []

    def save(self, uuid, specs):
        """Write durably: a crash leaves the old file or the new one, never a torn one."""
        path = self._path(uuid)
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as fileobj:
            json.dump([s.to_dict() for s in specs], fileobj)
            fileobj.flush()
            os.fsync(fileobj.fileno())
        os.replace(tmp, path)
        _fsync_directory(directory)

    def delete(self, uuid):
        try:
            os.unlink(self._path(uuid))
        except FileNotFoundError:
            return
        try:
            os.rmdir(os.path.dirname(self._path(uuid)))
        except OSError:
            pass
