"""The host side of the lab's external network: the OVS bridge ``br-ex`` (the OVS
agent's ``public`` physnet) and the box's own address on it ([lab] public_cidr's first
address), which makes floating IPs and router gateways reachable from the box.

With the userspace datapath the bridge's internal port is a tap device served by
ovs-vswitchd: it (and its address) is gone while ovs-vswitchd is down and comes back
without the address, so ``hybridhost lab up`` sets it again (idempotent).
"""

import dataclasses
import ipaddress
import logging
import socket

from ovsdbapp import exceptions as ovsdb_exc
from ovsdbapp.backend.ovs_idl import connection as ovs_connection
from ovsdbapp.schema.open_vswitch import impl_idl
from pyroute2 import IPRoute
from pyroute2 import NetlinkError

from hybridhost import conf as hh_conf
from hybridhost import exception
from hybridhost import readiness
from hybridhost.lab import errors
from hybridhost.render import l3_agent

LOG = logging.getLogger(__name__)

BRIDGE = l3_agent.EXTERNAL_BRIDGE
TAP_WAIT_S = 30
OVSDB_TIMEOUT_S = 10
OFFLOAD_KEY = "userspace-tso-enable"


@dataclasses.dataclass(frozen=True)
class Addressing:
    """The external network's plan: the box's address and the neutron pool."""

    network: ipaddress.IPv4Network
    host: ipaddress.IPv4Address
    pool_start: ipaddress.IPv4Address
    pool_end: ipaddress.IPv4Address

    @property
    def host_interface(self):
        return "%s/%d" % (self.host, self.network.prefixlen)


def addressing(conf):
    """The box takes the first address; neutron's pool is every other one."""
    network = hh_conf.lab_public_network(conf)
    first, *_, last = network.hosts()
    return Addressing(network, first, first + 1, last)


def _open(conf):
    idl = ovs_connection.OvsdbIdl.from_server(conf.ovs.ovsdb_connection, "Open_vSwitch")
    return impl_idl.OvsdbIdl(ovs_connection.Connection(idl=idl, timeout=OVSDB_TIMEOUT_S))


def _ensure_offload(api, conf):
    """TCP across the userspace datapath between veths (a router's qr-/qg-, a container's
    eth0) needs it: without, ovs-vswitchd forwards their partial checksums and TCP never
    connects (ICMP does). ovs-vswitchd reads it at start only; True when it was set."""
    if conf.ovs.datapath_type != "netdev":
        return False
    current = api.db_get("Open_vSwitch", ".", "other_config").execute(check_error=True)
    if current.get(OFFLOAD_KEY) == "true":
        return False
    api.db_set("Open_vSwitch", ".", ("other_config", {OFFLOAD_KEY: "true"})).execute(
        check_error=True)
    LOG.info("Set other_config:%s=true in OVSDB", OFFLOAD_KEY)
    return True


def _ensure_bridge(api, conf):
    """br-ex with the configured datapath type; True when it was created."""
    if BRIDGE in readiness.bridges(conf.ovs.ovsdb_connection):
        return False
    api.add_br(BRIDGE, may_exist=True,
               datapath_type=conf.ovs.datapath_type).execute(check_error=True)
    LOG.info("Created OVS bridge %(bridge)s (datapath %(type)s)",
             {"bridge": BRIDGE, "type": conf.ovs.datapath_type})
    return True


def ensure_ovsdb(conf):
    """``(bridge created, offload setting changed)``; the latter needs ovs-vswitchd
    restarted."""
    try:
        api = _open(conf)
    except Exception as err:  # noqa: BLE001  python-ovs raises a bare Exception
        raise errors.PublicBridgeFailed(bridge=BRIDGE,
                                        reason="connecting to OVSDB: %s" % err) from err
    try:
        return _ensure_bridge(api, conf), _ensure_offload(api, conf)
    except (ovsdb_exc.OvsdbAppException, RuntimeError) as err:
        raise errors.PublicBridgeFailed(bridge=BRIDGE,
                                        reason="setting it up in OVSDB: %s" % err) from err
    finally:
        api.ovsdb_connection.stop()


def _link_index(ipr):
    found = {}

    def present():
        found["index"] = (ipr.link_lookup(ifname=BRIDGE) or [None])[0]
        return None if found["index"] else "no link yet"

    try:
        readiness.wait(present, TAP_WAIT_S, "link %s" % BRIDGE, interval=0.2)
    except exception.DependencyNotReady as err:
        raise errors.PublicBridgeFailed(
            bridge=BRIDGE, reason="ovs-vswitchd made no %s link within %d s (is it "
                                  "running?)" % (BRIDGE, TAP_WAIT_S)) from err
    return found["index"]


def _ensure_address(plan):
    """The box's address on the bridge's internal port, link up; True when it changed."""
    with IPRoute() as ipr:
        index = _link_index(ipr)
        current = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                   for a in ipr.get_addr(index=index, family=socket.AF_INET)}
        up = bool(ipr.get_links(index)[0]["flags"] & 1)
        wanted = (str(plan.host), plan.network.prefixlen)
        try:
            if not up:
                ipr.link("set", index=index, state="up")
            if wanted not in current:
                ipr.addr("add", index=index, address=wanted[0], prefixlen=wanted[1])
        except NetlinkError as err:
            raise errors.PublicBridgeFailed(
                bridge=BRIDGE, reason="setting %s on it: %s" % (plan.host_interface, err)) from err
    return not up or wanted not in current


def ensure_address(conf):
    """The box's address on br-ex; returns ``(addressing, changed)``."""
    plan = addressing(conf)
    return plan, _ensure_address(plan)
