"""The only code that changes links: container veths, plumbed with pyroute2.

Each entrypoint validates its (plain) arguments and raises ``ValueError`` on bad
input before touching the kernel:

* a host end (and its waiting peer) must be named with ``[hybridhost_docker]
  vif_prefix`` as this daemon's configuration says, and an existing link of that name
  is touched only if it is a veth: nothing else on the host can be deleted or moved;
* a container's network namespace is given as the file Docker keeps for it (its
  sandbox, ``NetworkSettings.SandboxKey``: ``<exec-root>/netns/<12 hex>``), checked to
  be a network namespace other than the host's, and opened once; no pid, so no
  ``/proc/<pid>/ns/net`` and no ``CAP_SYS_PTRACE``.

The container side of a veth is created directly inside the container's namespace
(``IFLA_NET_NS_FD`` on the peer), so there is no intermediate name in the host
namespace; addresses and routes are then set through a netlink socket opened inside
that namespace (see :func:`_netns_socket`).
"""

from collections.abc import Iterator
import contextlib
import fcntl
import ipaddress
import logging
import os
import re
import socket
import threading
from typing import Any
from typing import TypeAlias

from pyroute2 import IPRoute
from pyroute2 import netns as pr_netns
from pyroute2.netlink.exceptions import NetlinkError

from hybridhost import privileged

LOG = logging.getLogger(__name__)
IFF_UP = 0x1
SYS_CLASS_NET = "/sys/class/net"

IFNAMSIZ_MAX = 15
MTU_MIN = 68
MTU_MAX = 65535
IFA_F_NODAD = 0x02
_IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
ENOENT_CODES = (19, 2)  # ENODEV, ENOENT
_SANDBOX_RE = re.compile(r"^[0-9a-f]{12}$")
NS_GET_NSTYPE = 0xB703  # ioctl(2) on a namespace file: its CLONE_NEW* type
CLONE_NEWNET = 0x40000000

IpAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IpInterface: TypeAlias = ipaddress.IPv4Interface | ipaddress.IPv6Interface
Route: TypeAlias = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, IpAddress]


# --- argument checks (pure; also used by the unprivileged side) --------------------


def check_ifname(name: object) -> str:
    """An interface name the kernel accepts: 1-15 chars of [A-Za-z0-9_.-]."""
    if not isinstance(name, str) or not 0 < len(name) <= IFNAMSIZ_MAX:
        raise ValueError("interface name must be 1-%d characters: %r" % (IFNAMSIZ_MAX, name))
    if not _IFNAME_RE.match(name):
        raise ValueError("interface name has forbidden characters: %r" % (name,))
    return name


def check_mac(mac: object) -> str:
    if not isinstance(mac, str) or not _MAC_RE.match(mac):
        raise ValueError("not a lower-case unicast MAC address: %r" % (mac,))
    if int(mac[:2], 16) & 1:
        raise ValueError("multicast MAC address refused: %r" % (mac,))
    return mac


def check_host_ifname(name: object) -> str:
    """A host-end name of this service: an interface name with the configured VIF prefix."""
    name = check_ifname(name)
    prefix = privileged.vif_prefix()
    if not name.startswith(prefix):
        raise ValueError("%r is not a container VIF: its name does not start with %r"
                         % (name, prefix))
    return name


def check_netns(path: object) -> str:
    """Docker's sandbox path of a container: ``/<...>/netns/<12 hex>`` (the shape only)."""
    if not isinstance(path, str) or not path.startswith("/") or os.path.normpath(path) != path:
        raise ValueError("not a network namespace path: %r" % (path,))
    directory, name = os.path.split(path)
    if os.path.basename(directory) != "netns" or not _SANDBOX_RE.match(name):
        raise ValueError("not a Docker sandbox (<exec-root>/netns/<12 hex>): %r" % (path,))
    return path


def _check_root_only(directory: str) -> None:
    try:
        info = os.stat(directory)
    except OSError as err:
        raise ValueError("cannot use %s: %s" % (directory, err.strerror)) from None
    if info.st_uid != 0 or info.st_mode & 0o022:
        raise ValueError("%s may be written by others than root" % directory)


def check_netns_fd(fd: int, path: str) -> None:
    try:
        kind = fcntl.ioctl(fd, NS_GET_NSTYPE)
    except OSError:
        raise ValueError("%s is not a namespace" % path) from None
    if kind != CLONE_NEWNET:
        raise ValueError("%s is not a network namespace" % path)
    here, there = os.stat("/proc/self/ns/net"), os.fstat(fd)
    if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
        raise ValueError("%s is the host's network namespace" % path)


@contextlib.contextmanager
def open_netns(path: object) -> Iterator[int]:
    """A file descriptor on the container network namespace at ``path``, checked."""
    real = check_netns(os.path.realpath(check_netns(path)))  # /var/run -> /run is fine
    _check_root_only(os.path.dirname(real))
    _check_root_only(os.path.dirname(os.path.dirname(real)))
    try:
        fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise ValueError("no network namespace at %s" % real) from None
    except OSError as err:
        raise ValueError("cannot open %s: %s" % (real, err.strerror)) from None
    try:
        check_netns_fd(fd, real)
        yield fd
    finally:
        os.close(fd)


def check_mtu(mtu: object) -> int:
    if isinstance(mtu, bool) or not isinstance(mtu, int) or not MTU_MIN <= mtu <= MTU_MAX:
        raise ValueError("MTU must be an int in %d..%d: %r" % (MTU_MIN, MTU_MAX, mtu))
    return mtu


def check_cidr(cidr: object) -> IpInterface:
    """A host address with prefix, e.g. '10.0.0.5/24' or 'fd00::5/64'."""
    if not isinstance(cidr, str) or "/" not in cidr:
        raise ValueError("not an address/prefix: %r" % (cidr,))
    return ipaddress.ip_interface(cidr)


def check_ip(address: object) -> IpAddress:
    if not isinstance(address, str):
        raise ValueError("not an IP address: %r" % (address,))
    return ipaddress.ip_address(address)


def check_route(route: object) -> Route:
    """A [destination-cidr, gateway] pair of the same IP version."""
    if not isinstance(route, (list, tuple)) or len(route) != 2:
        raise ValueError("a route is [cidr, gateway]: %r" % (route,))
    dst = ipaddress.ip_network(route[0]) if isinstance(route[0], str) else None
    if dst is None:
        raise ValueError("route destination is not a network: %r" % (route,))
    gateway = check_ip(route[1])
    if dst.version != gateway.version:
        raise ValueError("route mixes IP versions: %r" % (route,))
    return dst, gateway


def check_addressing(addresses: object, routes: object) -> tuple[list[IpInterface], list[Route]]:
    if not isinstance(addresses, (list, tuple)) or not isinstance(routes, (list, tuple)):
        raise ValueError("addresses and routes must be lists")
    return ([check_cidr(a) for a in addresses], [check_route(r) for r in routes])


def check_plug_args(host_ifname: object, netns: object, ifname: object, mac: object,
                    mtu: object, addresses: object,
                    routes: object) -> tuple[list[IpInterface], list[Route]]:
    check_host_ifname(host_ifname)
    check_netns(netns)
    check_ifname(ifname)
    check_mac(mac)
    check_mtu(mtu)
    return check_addressing(addresses, routes)


# --- netlink helpers -------------------------------------------------------------


def _netns_socket(netns_fd: int) -> socket.socket:
    """A NETLINK_ROUTE socket living in the network namespace ``netns_fd`` refers to.

    setns(2) changes the namespace of the calling thread only, so a short-lived
    thread enters the namespace and opens the socket; the socket keeps its namespace
    after the thread is gone. This is ~8x cheaper than pyroute2's own
    ``IPRoute(netns=...)``, which forks a child per socket.
    """
    result: dict[str, Any] = {}

    def enter_and_open() -> None:
        try:
            pr_netns.setns(netns_fd, fork=False)
            result["sock"] = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 0)
        except OSError as err:
            result["error"] = err

    worker = threading.Thread(target=enter_and_open, name="hh-setns-%d" % netns_fd)
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    sock: socket.socket = result["sock"]
    return sock


def _container_iproute(netns_fd: int) -> IPRoute:
    return IPRoute(use_socket=_netns_socket(netns_fd))


def _link_index(ipr: IPRoute, ifname: str) -> int | None:
    found = ipr.link_lookup(ifname=ifname)
    return found[0] if found else None


def _require_veth(ipr: IPRoute, index: int, ifname: str) -> None:
    """Refuse to touch a host link of ours by name that is not a veth."""
    kind = ipr.get_links(index)[0].get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
    if kind != "veth":
        raise ValueError("%s is a %s link, not a veth: not touched" % (ifname, kind or "plain"))


def _delete_if_present(ipr: IPRoute, ifname: str) -> bool:
    """Delete our veth ``ifname``; False when there is none.

    A link can vanish between the lookup and the delete: the kernel deletes a veth whose
    peer was in a container's netns when that netns dies, asynchronously, after the
    container stopped. Gone is what we wanted, so ENODEV at any step is no error."""
    index = _link_index(ipr, ifname)
    if index is None:
        return False
    try:
        _require_veth(ipr, index, ifname)
        ipr.link("del", index=index)
    except NetlinkError as err:
        if err.code not in ENOENT_CODES:
            raise
    return True


def _create_veth(ipr: IPRoute, host_ifname: str, netns_fd: int, ifname: str, mac: str,
                 mtu: int) -> None:
    ipr.link("add", ifname=host_ifname, kind="veth", mtu=mtu,
             peer={"ifname": ifname, "address": mac, "mtu": mtu, "net_ns_fd": netns_fd})
    ipr.link("set", index=_link_index(ipr, host_ifname), state="up")


def _configure_inside(ns: IPRoute, ifname: str, addresses: list[IpInterface],
                      routes: list[Route]) -> None:
    index = _link_index(ns, ifname)
    for iface in addresses:
        ns.addr("add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen,
                flags=IFA_F_NODAD if iface.version == 6 else 0)
    ns.link("set", index=index, state="up")
    lo = _link_index(ns, "lo")
    if lo is not None:
        ns.link("set", index=lo, state="up")
    for dst, gateway in routes:
        ns.route("replace", dst=str(dst), gateway=str(gateway), oif=index)


# --- entrypoints -----------------------------------------------------------------


@privileged.net_admin.entrypoint
def plug_veth(host_ifname: str, netns: str, ifname: str, mac: str, mtu: int,
              addresses: list[str], routes: list[list[str]]) -> int | None:
    """Create ``host_ifname`` <-> ``ifname`` (inside the namespace ``netns``) and configure it.

    :param netns: the container's sandbox path (Docker's ``SandboxKey``).
    :param addresses: list of 'ip/prefix' strings, every fixed IP of the port.
    :param routes: list of [cidr, gateway]; '0.0.0.0/0' / '::/0' for default routes.
    A stale ``host_ifname`` is deleted first, so a re-plug always starts clean.
    Returns the host end's ifindex.
    """
    addrs, rts = check_plug_args(host_ifname, netns, ifname, mac, mtu, addresses, routes)
    with open_netns(netns) as netns_fd, IPRoute() as ipr:
        _delete_if_present(ipr, host_ifname)
        _create_veth(ipr, host_ifname, netns_fd, ifname, mac, mtu)
        try:
            with _container_iproute(netns_fd) as ns:
                _configure_inside(ns, ifname, addrs, rts)
        except Exception:
            _delete_if_present(ipr, host_ifname)
            raise
        return _link_index(ipr, host_ifname)


@privileged.net_admin.entrypoint
def create_veth(host_ifname: str, peer_ifname: str, mac: str, mtu: int) -> int | None:
    """First half of a plug: ``host_ifname`` <-> ``peer_ifname``, both in the host's netns.

    The host end is up (it can go on the bridge at once); the peer, with the port's MAC,
    waits for :func:`move_peer`. Stale veths of either name are deleted first.
    Returns the host end's ifindex.
    """
    check_host_ifname(host_ifname)
    check_host_ifname(peer_ifname)
    check_mac(mac)
    check_mtu(mtu)
    with IPRoute() as ipr:
        _delete_if_present(ipr, host_ifname)
        _delete_if_present(ipr, peer_ifname)
        ipr.link("add", ifname=host_ifname, kind="veth", mtu=mtu,
                 peer={"ifname": peer_ifname, "address": mac, "mtu": mtu})
        ipr.link("set", index=_link_index(ipr, host_ifname), state="up")
        return _link_index(ipr, host_ifname)


@privileged.net_admin.entrypoint
def move_peer(host_ifname: str, peer_ifname: str, netns: str, ifname: str,
              addresses: list[str], routes: list[list[str]]) -> None:
    """Second half: the waiting peer into the namespace ``netns`` as ``ifname``, configured.

    On any failure the pair is deleted (by its host end), so nothing half-made stays.
    """
    check_host_ifname(host_ifname)
    check_host_ifname(peer_ifname)
    check_netns(netns)
    check_ifname(ifname)
    addrs, rts = check_addressing(addresses, routes)
    with open_netns(netns) as netns_fd, IPRoute() as ipr:
        index = _link_index(ipr, peer_ifname)
        if index is None:
            _delete_if_present(ipr, host_ifname)
            raise LookupError("no interface %s waiting to be moved" % peer_ifname)
        _require_veth(ipr, index, peer_ifname)
        try:
            ipr.link("set", index=index, net_ns_fd=netns_fd)
            with _container_iproute(netns_fd) as ns:
                ns.link("set", index=_link_index(ns, peer_ifname), ifname=ifname)
                _configure_inside(ns, ifname, addrs, rts)
        except Exception:
            _delete_if_present(ipr, host_ifname)
            raise


@privileged.net_admin.entrypoint
def delete_veth(host_ifname: str) -> bool:
    """Delete a veth by its host end (the peer goes with it). True if it existed."""
    check_host_ifname(host_ifname)
    with IPRoute() as ipr:
        return _delete_if_present(ipr, host_ifname)


@privileged.net_admin.entrypoint
def veth_intact(host_ifname: str, netns: str, ifname: str, mac: str) -> bool:
    """True when ``host_ifname`` is up and its peer is ``ifname`` with ``mac`` in ``netns``."""
    check_host_ifname(host_ifname)
    check_netns(netns)
    check_ifname(ifname)
    check_mac(mac)
    with IPRoute() as ipr:
        if _link_index(ipr, host_ifname) is None:
            return False
    with open_netns(netns) as netns_fd, _container_iproute(netns_fd) as ns:
        index = _link_index(ns, ifname)
        if index is None:
            return False
        link = ns.get_links(index)[0]
        intact: bool = (link.get_attr("IFLA_ADDRESS") == mac
                        and link.get_attr("IFLA_OPERSTATE") == "UP")
        return intact


def host_veths_up(prefix: str) -> set[str]:
    """Names of the host's links starting with ``prefix`` that are up, read from sysfs
    (no privilege needed, so no entrypoint; a netlink dump would decode every link of
    the host, a few hundred on a dense box, at each scan). When a container's
    namespace ends, the kernel deletes both ends of its veths."""
    found = set()
    for name in os.listdir(SYS_CLASS_NET):
        if not name.startswith(prefix):
            continue
        try:
            with open(os.path.join(SYS_CLASS_NET, name, "flags")) as flags:
                if int(flags.read(), 16) & IFF_UP:
                    found.add(name)
        except (OSError, ValueError):
            continue  # deleted while we read
    return found


@privileged.net_admin.entrypoint
def container_ifnames(netns: str) -> list[str]:
    """Names of the interfaces inside the network namespace ``netns``."""
    check_netns(netns)
    with open_netns(netns) as netns_fd, _container_iproute(netns_fd) as ns:
        return sorted(link.get_attr("IFLA_IFNAME") for link in ns.get_links())
