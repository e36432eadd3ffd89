"""Hand-written fakes for the VIF plumbing seams (no root, no OVS, no kernel changes).

* :class:`FakeOvsPorts` - the :class:`hybridhost.virt.docker.ovs.OvsPorts` surface
  over a dict; ``tests/contract/ovs_contract.py`` runs the same assertions against it
  and against a real OVSDB.
* :class:`FakeNet` - the ``hybridhost.privileged.net`` entrypoints over a dict of
  veths, validating arguments with the real checks (minus /proc lookups);
  ``tests/contract/net_contract.py`` runs the same assertions against it and against
  the real entrypoints through the privsep daemon.
"""

import itertools

from pyroute2.netlink.exceptions import NetlinkError

from hybridhost import exception
from hybridhost.privileged import net as real_net
from hybridhost.virt.docker import ovs as ovs_mod
from tests.contract import net_contract


class FakeOvsPorts:
    """OvsPorts over a dict (name -> OvsPort), with ovs-vswitchd's rules.

    ``link_exists(name)``, when given, says whether the host has a network device of
    that name: like ovs-vswitchd, the fake gives a port an OpenFlow number only then,
    and otherwise keeps the row with ofport -1 and refuses. :meth:`sibling` is another
    service's view of the same switch.
    """

    def __init__(self, owner, bridges=("br-int",), link_exists=None):
        self.owner = owner
        self.bridges = set(bridges)
        self.ports = {}
        self.link_exists = link_exists
        self.ofports = itertools.count(1)
        self.fail_next_add = None

    def sibling(self, owner):
        """The same switch (bridges, rows, OpenFlow numbers) as service ``owner`` sees it."""
        other = FakeOvsPorts(owner, link_exists=self.link_exists)
        other.bridges, other.ports, other.ofports = self.bridges, self.ports, self.ofports
        return other

    def bridge_exists(self, bridge):
        return bridge in self.bridges

    def require_bridge(self, bridge):
        if not self.bridge_exists(bridge):
            raise exception.BridgeMissing(bridge=bridge)

    def add_port(self, bridge, name, iface_id, mac, vm_uuid, mtu=None):
        if self.fail_next_add:
            error, self.fail_next_add = self.fail_next_add, None
            raise error
        if bridge not in self.bridges:
            raise exception.OvsdbOperationFailed(operation="add port", target=name,
                                                 reason="Cannot find Bridge with name=%s" % bridge)
        self.ports.pop(name, None)
        linked = self.link_exists is None or bool(self.link_exists(name))
        self.ports[name] = ovs_mod.OvsPort(name=name, bridge=bridge, iface_id=iface_id, mac=mac,
                                           vm_uuid=vm_uuid, owner=self.owner,
                                           ofport=next(self.ofports) if linked else -1)
        if not linked:
            raise exception.OvsdbOperationFailed(
                operation="add port", target=name, reason="ovs-vswitchd gave it no OpenFlow port")

    def get_port(self, name):
        return self.ports.get(name)

    def all_ports(self):
        return dict(self.ports)

    def delete_port(self, name):
        port = self.ports.get(name)
        if port is None or port.owner != self.owner:
            return False
        del self.ports[name]
        return True

    def list_own_ports(self):
        return [p for p in self.ports.values() if p.owner == self.owner]


class FakeNet:
    """The privileged net entrypoints over a dict of veths: host_ifname -> dict.

    Arguments are validated with the real checks (host ends with the configured VIF
    prefix, namespaces shaped like Docker's sandbox paths); a namespace is any such
    path that has not ended (nothing is opened). :meth:`netns_gone` is the kernel
    deleting the veths of a namespace whose last process ended. :meth:`host_link` and
    :meth:`container_link` show what the kernel would (they are no entrypoints).
    """

    def __init__(self):
        self.veths = {}
        self.calls = []
        self.gone = set()
        self._indexes = itertools.count(100, 2)  # host end n, its peer n + 1

    def _check_netns(self, netns):
        real_net.check_netns(netns)
        if netns in self.gone:
            raise ValueError("no network namespace at %s" % netns)
        return netns

    def _taken(self, netns, ifname):
        return any(v["netns"] == netns and v["ifname"] == ifname for v in self.veths.values())

    def _veth(self, netns, ifname, mac, mtu, addresses=(), routes=()):
        return {"netns": netns, "ifname": ifname, "mac": mac, "mtu": mtu,
                "addresses": list(addresses), "routes": [list(r) for r in routes],
                "index": next(self._indexes)}

    def plug_veth(self, host_ifname, netns, ifname, mac, mtu, addresses, routes):
        real_net.check_plug_args(host_ifname, netns, ifname, mac, mtu, addresses, routes)
        self._check_netns(netns)
        self.calls.append(("plug", host_ifname, netns))
        self.veths.pop(host_ifname, None)
        if self._taken(netns, ifname):
            raise NetlinkError(17, "File exists")
        self.veths[host_ifname] = self._veth(netns, ifname, mac, mtu, addresses, routes)
        return self.veths[host_ifname]["index"]

    def create_veth(self, host_ifname, peer_ifname, mac, mtu):
        real_net.check_host_ifname(host_ifname)
        real_net.check_host_ifname(peer_ifname)
        real_net.check_mac(mac)
        real_net.check_mtu(mtu)
        self.calls.append(("create", host_ifname))
        # The peer waits in the host's netns (netns None) under its own name.
        self.veths[host_ifname] = self._veth(None, peer_ifname, mac, mtu)
        return self.veths[host_ifname]["index"]

    def move_peer(self, host_ifname, peer_ifname, netns, ifname, addresses, routes):
        real_net.check_host_ifname(host_ifname)
        real_net.check_host_ifname(peer_ifname)
        self._check_netns(netns)
        real_net.check_ifname(ifname)
        real_net.check_addressing(addresses, routes)
        self.calls.append(("move", host_ifname, netns))
        veth = self.veths.get(host_ifname)
        if veth is None or veth["netns"] is not None or veth["ifname"] != peer_ifname:
            self.veths.pop(host_ifname, None)
            raise LookupError("no interface %s waiting to be moved" % peer_ifname)
        if self._taken(netns, ifname):
            del self.veths[host_ifname]
            raise NetlinkError(17, "File exists")
        veth.update(netns=netns, ifname=ifname, addresses=list(addresses),
                    routes=[list(r) for r in routes])

    def delete_veth(self, host_ifname):
        real_net.check_host_ifname(host_ifname)
        self.calls.append(("delete", host_ifname))
        return self.veths.pop(host_ifname, None) is not None

    def veth_intact(self, host_ifname, netns, ifname, mac):
        real_net.check_host_ifname(host_ifname)
        self._check_netns(netns)
        real_net.check_ifname(ifname)
        real_net.check_mac(mac)
        veth = self.veths.get(host_ifname)
        return (bool(veth) and veth["netns"] == netns and veth["ifname"] == ifname
                and veth["mac"] == mac)

    def container_ifnames(self, netns):
        self._check_netns(netns)
        # a tuple: the privsep daemon hands lists back as tuples
        return tuple(sorted(["lo"] + [v["ifname"] for v in self.veths.values()
                                      if v["netns"] == netns]))

    def host_veths_up(self, prefix):
        return {name for name, veth in self.veths.items()
                if name.startswith(prefix) and veth["netns"] is not None}

    # --- what the kernel would show ------------------------------------------------

    def netns_gone(self, netns):
        """The last process of namespace ``netns`` ended: its veths go, host ends too."""
        self.gone.add(netns)
        for name in [n for n, v in self.veths.items() if v["netns"] == netns]:
            del self.veths[name]

    def host_link(self, name):
        """The ifindex of ``name`` in the host's namespace, or None."""
        if name in self.veths:
            return self.veths[name]["index"]
        for veth in self.veths.values():
            if veth["netns"] is None and veth["ifname"] == name:
                return veth["index"] + 1
        return None

    def container_link(self, netns, ifname):
        """``ifname`` in the namespace ``netns`` (a :func:`net_contract.link_view`), or None."""
        for veth in self.veths.values():
            if veth["netns"] == netns and veth["ifname"] == ifname:
                return net_contract.link_view(veth["mac"], veth["mtu"], True, veth["addresses"],
                                 veth["routes"])
        return None

