"""OVSDB adapter for container VIFs (ovsdbapp, one transaction per change).

A container port is an OVS Port/Interface on the integration bridge whose
``external_ids`` carry what the neutron OVS agent needs (``iface-id``,
``attached-mac``, ``vm-uuid``, ``iface-status``) plus :data:`OWNER_KEY` naming the
nova-compute service that plugged it. Only rows carrying our owner value are ever
listed or deleted by this service.

The IDL cache is shared with ovsdbapp's connection thread, which applies an update
to a row by taking the row out of its table and putting it back (python-ovs): a read
from another thread can then miss a row that exists. Reads here hold the connection's
lock, under which that thread applies updates; a delete decides whose row it is inside
its transaction, on that thread, and the server re-checks the owner it saw.
"""

from collections.abc import Iterable
from collections.abc import Iterator
import contextlib
import dataclasses
import logging
import threading
from typing import Any

from ovs.db import idl as ovs_idl
from ovsdbapp import api as ovsdb_api
from ovsdbapp import exceptions as ovsdb_exc
from ovsdbapp.backend.ovs_idl import command as ovs_command
from ovsdbapp.backend.ovs_idl import connection
from ovsdbapp.backend.ovs_idl import idlutils
from ovsdbapp.schema.open_vswitch import commands as ovs_commands
from ovsdbapp.schema.open_vswitch import impl_idl

from hybridhost import exception

LOG = logging.getLogger(__name__)

OWNER_KEY = "hybridhost-owner"

_CONNECTIONS: dict[str, impl_idl.OvsdbIdl] = {}
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


def _open_api(conn_str: str, timeout: int) -> impl_idl.OvsdbIdl:
    """One shared ovsdbapp API (and its IDL thread) per connection string."""
    with _CONNECTIONS_LOCK:
        api = _CONNECTIONS.get(conn_str)
        if api is None:
            idl = connection.OvsdbIdl.from_server(conn_str, "Open_vSwitch")
            api = impl_idl.OvsdbIdl(connection.Connection(idl=idl, timeout=timeout))
            _CONNECTIONS[conn_str] = api
        return api


def _first(value: Any, default: Any = None) -> Any:
    if isinstance(value, list):
        return value[0] if value else default
    return value


def _as_port(iface: ovs_idl.Row, bridge: str | None) -> OvsPort:
    ids = dict(iface.external_ids)
    return OvsPort(name=iface.name, bridge=bridge or "", iface_id=ids.get("iface-id", ""),
                   mac=ids.get("attached-mac", ""), vm_uuid=ids.get("vm-uuid", ""),
                   owner=ids.get(OWNER_KEY, ""), ofport=_first(iface.ofport, -1))


class DeleteOwnPortCommand(ovs_command.BaseCommand):
    """Delete port ``name`` if its Interface carries ``owner``; the result is the owner
    found (None: no such row).

    It runs in the transaction, on the connection thread, so it reads a cache that no
    update is half-way through; the server refuses the transaction (ovsdbapp re-runs it)
    if the row's ``external_ids`` changed since.
    """

    def __init__(self, api: impl_idl.OvsdbIdl, name: str, owner: str | None) -> None:
        super().__init__(api)
        self.name = name
        self.owner = owner

    def run_idl(self, txn: ovs_idl.Transaction) -> None:
        iface = idlutils.row_by_value(self.api.idl, "Interface", "name", self.name, None)
        if iface is None:
            self.result = None
            return
        iface.verify("external_ids")
        self.result = iface.external_ids.get(OWNER_KEY, "")
        if self.result == self.owner:
            ovs_commands.DelPortCommand(self.api, self.name, None, if_exists=True).run_idl(txn)


class OvsPorts:
    """Add, delete and list this service's container ports on OVS."""

    def __init__(self, conn_str: str, owner: str | None, timeout: int = 10,
                 api: impl_idl.OvsdbIdl | None = None) -> None:
        self.conn_str = conn_str
        self.owner = owner
        self._timeout = timeout
        self._api = api

    @property
    def api(self) -> impl_idl.OvsdbIdl:
        if self._api is None:
            try:
                self._api = _open_api(self.conn_str, self._timeout)
            except Exception as err:
                raise exception.OvsdbUnavailable(connection=self.conn_str, reason=err) from err
        return self._api

    def _run(self, operation: str, target: str, *commands: ovsdb_api.Command) -> Any:
        try:
            with self.api.transaction(check_error=True) as txn:
                for command in commands:
                    txn.add(command)
            return txn.result
        except (ovsdb_exc.TimeoutException, RuntimeError) as err:
            raise exception.OvsdbOperationFailed(
                operation=operation, target=target, reason=err) from err

    @contextlib.contextmanager
    def _cache(self) -> Iterator[None]:
        """The IDL cache held still (see the module docstring); never run a transaction
        inside: the connection thread needs this lock to commit it."""
        with self.api.ovsdb_connection.lock:
            yield

    def bridge_exists(self, bridge: str) -> bool:
        exists: bool = self.api.br_exists(bridge).execute(check_error=True)
        return exists

    def require_bridge(self, bridge: str) -> None:
        if not self.bridge_exists(bridge):
            raise exception.BridgeMissing(bridge=bridge)

    def add_port(self, bridge: str, name: str, iface_id: str, mac: str, vm_uuid: str,
                 mtu: int | None = None) -> None:
        """(Re)create port ``name`` on ``bridge``: one transaction for a new port.

        A stale row of the same name is deleted in a transaction of its own first:
        ovs-vswitchd reconciles by name, so a delete+add in one transaction would keep
        the old (dead) netdev open instead of opening the new veth.
        """
        external_ids = {"iface-id": iface_id, "iface-status": "active",
                        "attached-mac": mac, "vm-uuid": vm_uuid, OWNER_KEY: self.owner}
        attrs: dict[str, Any] = {"external_ids": external_ids}
        if mtu:
            attrs["mtu_request"] = mtu
        with self._cache():
            stale = self._row(name) is not None
        if stale:
            self._run("replace port", name, self.api.del_port(name, if_exists=True))
        self._run("add port", name, self.api.add_port(bridge, name, may_exist=False, **attrs))
        with self._cache():
            ofport = _first(getattr(self._row(name), "ofport", None), -1)
        if not ofport or ofport < 0:
            raise exception.OvsdbOperationFailed(
                operation="add port", target=name, reason="ovs-vswitchd gave it no OpenFlow port")
        LOG.debug("OVS port %(name)s added to %(bridge)s for %(port)s",
                  {"name": name, "bridge": bridge, "port": iface_id})

    def _row(self, name: str) -> ovs_idl.Row | None:
        row: ovs_idl.Row | None = idlutils.row_by_value(self.api.idl, "Interface", "name", name,
                                                         None)
        return row

    def get_port(self, name: str) -> OvsPort | None:
        """The Interface row ``name`` as an :class:`OvsPort`, or None (from the IDL cache)."""
        with self._cache():
            return self._port(name)

    def all_ports(self) -> dict[str, OvsPort]:
        """Every Interface row as an :class:`OvsPort`, by name: one pass over the IDL
        cache, for a scan that would otherwise search it once per port."""
        with self._cache():
            bridge_of = {port.name: bridge.name
                         for bridge in self.api.tables["Bridge"].rows.values()
                         for port in bridge.ports}
            return {iface.name: _as_port(iface, bridge_of.get(iface.name))
                    for iface in self.api.tables["Interface"].rows.values()}

    def _port(self, name: str) -> OvsPort | None:
        iface = self._row(name)
        if iface is None:
            return None
        return _as_port(iface, self._bridge_of(name))

    def _bridge_of(self, port_name: str) -> str | None:
        for bridge in self.api.tables["Bridge"].rows.values():
            if any(port.name == port_name for port in bridge.ports):
                bridge_name: str = bridge.name
                return bridge_name
        return None

    def delete_port(self, name: str) -> bool:
        """Delete port ``name`` if it is ours, deciding in the transaction (see
        :class:`DeleteOwnPortCommand`). True if a row was deleted."""
        owner = self._run("delete port", name, DeleteOwnPortCommand(self.api, name, self.owner))[0]
        if owner is None:
            return False
        if owner != self.owner:
            LOG.warning("Not deleting OVS port %(name)s: owned by %(owner)r, not %(me)r",
                        {"name": name, "owner": owner, "me": self.owner})
            return False
        LOG.debug("OVS port %s deleted", name)
        return True

    def list_own_ports(self) -> list[OvsPort]:
        """Every Interface row whose owner key names this service."""
        return [port for port in self.all_ports().values() if port.owner == self.owner]


def delete_ports_of(conn_str: str, iface_ids: Iterable[str], timeout: int = 10) -> list[str]:
    """Delete every port whose Interface carries one of ``iface_ids``, whoever owns it.

    Only for what a neutron agent left when it is gone for good (the lab's DHCP agent,
    switched off). Returns the names of the ports deleted.
    """
    ports = OvsPorts(conn_str, owner=None, timeout=timeout)
    wanted = set(iface_ids)
    with ports._cache():  # noqa: SLF001  this module's own class
        names = [row.name for row in ports.api.tables["Interface"].rows.values()
                 if row.external_ids.get("iface-id") in wanted]
    for name in names:
        ports._run("delete port", name,  # noqa: SLF001  this module's own class
                   ports.api.del_port(name, if_exists=True))
    return names


def delete_ports_named(conn_str: str, names: Iterable[str], timeout: int = 10) -> None:
    """Delete the ports of these names, whoever owns them (the lab's purge: the veths a
    neutron agent left on the integration bridge)."""
    ports = OvsPorts(conn_str, owner=None, timeout=timeout)
    for name in names:
        ports._run("delete port", name,  # noqa: SLF001  this module's own class
                   ports.api.del_port(name, if_exists=True))
