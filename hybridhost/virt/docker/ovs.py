"""OVSDB adapter for container VIFs (ovsdbapp, one transaction per change).

A container port is an OVS Port/Interface on the integration bridge whose
``external_ids`` carry what the neutron OVS agent needs (``iface-id``,
``attached-mac``, ``vm-uuid``, ``iface-status``) plus :data:`OWNER_KEY` naming the
nova-compute service that plugged it. Only rows carrying our owner value are ever
listed or deleted by this service.
"""

import dataclasses
import logging
import threading

from ovsdbapp import exceptions as ovsdb_exc
from ovsdbapp.backend.ovs_idl import connection
from ovsdbapp.backend.ovs_idl import idlutils
from ovsdbapp.schema.open_vswitch import impl_idl

from hybridhost import exception

LOG = logging.getLogger(__name__)

OWNER_KEY = "hybridhost-owner"

_CONNECTIONS = {}
_CONNECTIONS_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class OvsPort:
    """One Interface row as this service sees it."""

    name: str
    bridge: str
    iface_id: str
    mac: str
    vm_uuid: str
    owner: str
    ofport: int


def _open_api(conn_str, timeout):
    """One shared ovsdbapp API (and its IDL thread) per connection string."""
    with _CONNECTIONS_LOCK:
        api = _CONNECTIONS.get(conn_str)
        if api is None:
            idl = connection.OvsdbIdl.from_server(conn_str, "Open_vSwitch")
            api = impl_idl.OvsdbIdl(connection.Connection(idl=idl, timeout=timeout))
            _CONNECTIONS[conn_str] = api
        return api


def _first(value, default=None):
    if isinstance(value, list):
        return value[0] if value else default
    return value


class OvsPorts:
    """Add, delete and list this service's container ports on OVS."""

    def __init__(self, conn_str, owner, timeout=10, api=None):
        self.conn_str = conn_str
        self.owner = owner
        self._timeout = timeout
        self._api = api

    @property
    def api(self):
        if self._api is None:
            try:
                self._api = _open_api(self.conn_str, self._timeout)
            except Exception as err:
                raise exception.OvsdbUnavailable(connection=self.conn_str, reason=err) from err
        return self._api

    def _run(self, operation, target, *commands):
        try:
            with self.api.transaction(check_error=True) as txn:
                for command in commands:
                    txn.add(command)
            return txn.result
        except (ovsdb_exc.TimeoutException, RuntimeError) as err:
            raise exception.OvsdbOperationFailed(
                operation=operation, target=target, reason=err) from err

    def bridge_exists(self, bridge):
        return self.api.br_exists(bridge).execute(check_error=True)

    def require_bridge(self, bridge):
        if not self.bridge_exists(bridge):
            raise exception.BridgeMissing(bridge=bridge)

    def add_port(self, bridge, name, iface_id, mac, vm_uuid, mtu=None):
        """(Re)create port ``name`` on ``bridge``: one transaction for a new port.

        A stale row of the same name is deleted in a transaction of its own first:
        ovs-vswitchd reconciles by name, so a delete+add in one transaction would keep
        the old (dead) netdev open instead of opening the new veth.
        """
        external_ids = {"iface-id": iface_id, "iface-status": "active",
                        "attached-mac": mac, "vm-uuid": vm_uuid, OWNER_KEY: self.owner}
        attrs = {"external_ids": external_ids}
        if mtu:
            attrs["mtu_request"] = mtu
        if self._row(name) is not None:
            self._run("replace port", name, self.api.del_port(name, if_exists=True))
        self._run("add port", name, self.api.add_port(bridge, name, may_exist=False, **attrs))
        ofport = _first(getattr(self._row(name), "ofport", None), -1)
        if not ofport or ofport < 0:
            raise exception.OvsdbOperationFailed(
                operation="add port", target=name, reason="ovs-vswitchd gave it no OpenFlow port")
        LOG.debug("OVS port %(name)s added to %(bridge)s for %(port)s",
                  {"name": name, "bridge": bridge, "port": iface_id})

    def _row(self, name):
        try:
            return idlutils.row_by_value(self.api.idl, "Interface", "name", name)
        except idlutils.RowNotFound:
            return None

    def get_port(self, name):
        """The Interface row ``name`` as an :class:`OvsPort`, or None (from the IDL cache)."""
        iface = self._row(name)
        if iface is None:
            return None
        ids = dict(iface.external_ids)
        bridge = self._bridge_of(name)
        return OvsPort(name=name, bridge=bridge or "", iface_id=ids.get("iface-id", ""),
                       mac=ids.get("attached-mac", ""), vm_uuid=ids.get("vm-uuid", ""),
                       owner=ids.get(OWNER_KEY, ""), ofport=_first(iface.ofport, -1))

    def _bridge_of(self, port_name):
        for bridge in self.api.tables["Bridge"].rows.values():
            if any(port.name == port_name for port in bridge.ports):
                return bridge.name
        return None

    def delete_port(self, name):
        """Delete port ``name`` if it is ours. True if a row was deleted."""
        port = self.get_port(name)
        if port is None:
            return False
        if port.owner != self.owner:
            LOG.warning("Not deleting OVS port %(name)s: owned by %(owner)r, not %(me)r",
                        {"name": name, "owner": port.owner, "me": self.owner})
            return False
        self._run("delete port", name, self.api.del_port(name, if_exists=True))
        LOG.debug("OVS port %s deleted", name)
        return True

    def list_own_ports(self):
        """Every Interface row whose owner key names this service."""
        rows = self.api.tables["Interface"].rows.values()
        names = [row.name for row in rows if row.external_ids.get(OWNER_KEY) == self.owner]
        return [port for port in map(self.get_port, names) if port is not None]


def delete_ports_of(conn_str, iface_ids, timeout=10):
    """Delete every port whose Interface carries one of ``iface_ids``, whoever owns it.

    Only for what a neutron agent left when it is gone for good (the lab's DHCP agent,
    switched off). Returns the names of the ports deleted.
    """
    ports = OvsPorts(conn_str, owner=None, timeout=timeout)
    wanted = set(iface_ids)
    names = [row.name for row in ports.api.tables["Interface"].rows.values()
             if row.external_ids.get("iface-id") in wanted]
    for name in names:
        ports._run("delete port", name, ports.api.del_port(name, if_exists=True))
    return names
