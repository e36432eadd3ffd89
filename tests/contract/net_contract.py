"""The contract of the privileged net seam (:mod:`hybridhost.privileged.net`).

:class:`NetContract` holds what the VIF plugger relies on. A subclass sets, before
calling ``super().setUp()`` or in its own ``setUp``:

* ``net``: the entrypoints (``plug_veth``, ``create_veth``, ``move_peer``, ...);
* ``links``: what the kernel shows, ``host_link(name)`` (an ifindex or None) and
  ``container_link(netns, ifname)`` (a :func:`link_view` or None);

and provides ``make_netns()`` (the path of a network namespace of its own, shaped like
Docker's sandbox paths, ``<dir>/netns/<12 hex>``) and ``end_netns(netns)`` (it ends).
``tests/unit/virt_docker/
test_plumbing_contracts_fake.py`` runs it against ``FakeNet``,
``tests/functional/virt_docker/test_plumbing_contracts_real.py`` against the real
entrypoints through the privsep daemon: the fake cannot drift from the kernel.
"""

import uuid as uuidlib

from pyroute2.netlink.exceptions import NetlinkError

from hybridhost import privileged
from hybridhost import readiness

MAC = "fa:16:3e:00:00:01"
OTHER_MAC = "fa:16:3e:00:00:02"
ADDRESSES = ["10.71.0.10/24", "fd71::10/64"]
ROUTES = [["0.0.0.0/0", "10.71.0.1"]]
EEXIST = 17


def link_view(mac, mtu, up, addresses, routes):
    """A link as the contracts compare it: addresses 'ip/prefix', routes (cidr, gateway)."""
    return {"mac": mac, "mtu": mtu, "up": up, "addresses": set(addresses),
            "routes": {tuple(route) for route in routes}}


def raised(exc, func, *args, **kwargs):
    """The ``exc`` that ``func(*args, **kwargs)`` raises; AssertionError if it raises none."""
    try:
        func(*args, **kwargs)
    except exc as error:
        return error
    raise AssertionError("%s not raised by %s%r" % (exc.__name__, func.__name__, args))


def eventually(predicate, what, timeout=10.0):
    """Wait (readiness.wait) until ``predicate()`` is true; DependencyNotReady otherwise."""
    readiness.wait(lambda: None if predicate() else "not yet", timeout, what, interval=0.02)


class NetContract:
    """Mixin for unittest.TestCase; see the module docstring for what a subclass sets."""

    net = None
    links = None

    def make_netns(self):
        raise NotImplementedError

    def end_netns(self, netns):
        raise NotImplementedError

    def name(self):
        """A fresh host-end name with the VIF prefix (its waiting peer adds 'p'), deleted
        after the test."""
        name = privileged.vif_prefix() + uuidlib.uuid4().hex[:8]
        self.addCleanup(self.net.delete_veth, name)
        return name

    def plugged(self, netns, ifname="eth0", mac=MAC):
        name = self.name()
        self.net.plug_veth(name, netns, ifname, mac, 1450, ADDRESSES, ROUTES)
        return name

    # --- the two-step plug -----------------------------------------------------------

    def test_create_veth_leaves_both_ends_waiting_in_the_host(self):
        name = self.name()
        index = self.net.create_veth(name, name + "p", MAC, 1450)
        self.assertEqual(index, self.links.host_link(name))
        self.assertIsNotNone(self.links.host_link(name + "p"))

    def test_move_peer_configures_the_peer_inside_the_container(self):
        netns, name = self.make_netns(), self.name()
        self.net.create_veth(name, name + "p", MAC, 1450)
        self.net.move_peer(name, name + "p", netns, "eth0", ADDRESSES, ROUTES)
        self.assertIsNone(self.links.host_link(name + "p"))
        self.assertIsNotNone(self.links.host_link(name))
        self.assertEqual(link_view(MAC, 1450, True, ADDRESSES, ROUTES),
                         self.links.container_link(netns, "eth0"))
        self.assertTrue(self.net.veth_intact(name, netns, "eth0", MAC))
        self.assertEqual(("eth0", "lo"), self.net.container_ifnames(netns))

    def test_move_peer_without_a_waiting_peer_leaves_nothing(self):
        netns, name = self.make_netns(), self.name()
        self.net.create_veth(name, name + "p", MAC, 1450)
        self.assertRaises(LookupError, self.net.move_peer, name, name + "x", netns, "eth0", [], [])
        self.assertIsNone(self.links.host_link(name))
        self.assertEqual(("lo",), self.net.container_ifnames(netns))

    def test_host_veths_up_lists_plugged_host_ends_until_the_namespace_ends(self):
        netns = self.make_netns()
        name = self.plugged(netns)
        self.assertIn(name, self.net.host_veths_up(privileged.vif_prefix()))
        self.assertNotIn(name, self.net.host_veths_up(privileged.vif_prefix() + "zz"))
        self.end_netns(netns)  # the kernel deletes the pair in its own time
        eventually(lambda: name not in self.net.host_veths_up(privileged.vif_prefix()),
                   "the host end of %s gone" % name)

    # --- the one-step plug -----------------------------------------------------------

    def test_plug_veth_does_both_halves(self):
        netns, name = self.make_netns(), self.name()
        index = self.net.plug_veth(name, netns, "eth0", MAC, 1450, ADDRESSES, ROUTES)
        self.assertEqual(index, self.links.host_link(name))
        self.assertEqual(link_view(MAC, 1450, True, ADDRESSES, ROUTES),
                         self.links.container_link(netns, "eth0"))
        self.assertTrue(self.net.veth_intact(name, netns, "eth0", MAC))

    def test_a_replug_starts_from_a_new_veth(self):
        netns = self.make_netns()
        name = self.plugged(netns)
        first = self.links.host_link(name)
        self.net.plug_veth(name, netns, "eth0", MAC, 1500, [], [])
        self.assertNotEqual(first, self.links.host_link(name))
        self.assertEqual(link_view(MAC, 1500, True, [], []),
                         self.links.container_link(netns, "eth0"))
        self.assertEqual(("eth0", "lo"), self.net.container_ifnames(netns))

    def test_a_name_taken_in_the_container_is_refused_and_leaves_nothing(self):
        netns = self.make_netns()
        self.plugged(netns)
        second, third = self.name(), self.name()
        error = raised(NetlinkError, self.net.plug_veth, second, netns, "eth0", OTHER_MAC, 1450,
                       [], [])
        self.assertEqual(EEXIST, error.code)
        self.net.create_veth(third, third + "p", OTHER_MAC, 1450)
        error = raised(NetlinkError, self.net.move_peer, third, third + "p", netns, "eth0", [], [])
        self.assertEqual(EEXIST, error.code)
        self.assertEqual([None] * 3, [self.links.host_link(n) for n in
                                      (second, third, third + "p")])
        self.assertEqual(MAC, self.links.container_link(netns, "eth0")["mac"])

    # --- unplug and checks ------------------------------------------------------------

    def test_delete_veth_takes_both_ends(self):
        netns = self.make_netns()
        name = self.plugged(netns)
        self.assertTrue(self.net.delete_veth(name))
        self.assertIsNone(self.links.host_link(name))
        self.assertIsNone(self.links.container_link(netns, "eth0"))
        self.assertFalse(self.net.delete_veth(name))

    def test_veth_intact_only_for_the_exact_plug(self):
        netns, other = self.make_netns(), self.make_netns()
        name = self.plugged(netns)
        self.assertTrue(self.net.veth_intact(name, netns, "eth0", MAC))
        self.assertFalse(self.net.veth_intact(name, netns, "eth0", OTHER_MAC))
        self.assertFalse(self.net.veth_intact(name, netns, "eth1", MAC))
        self.assertFalse(self.net.veth_intact(name, other, "eth0", MAC))
        self.assertFalse(self.net.veth_intact(name + "x", netns, "eth0", MAC))

    def test_the_veths_of_an_ended_namespace_are_gone(self):
        netns = self.make_netns()
        name = self.plugged(netns)
        self.end_netns(netns)
        eventually(lambda: self.links.host_link(name) is None, "the kernel to delete the veth")
        self.assertRaises(ValueError, self.net.plug_veth, name, netns, "eth0", MAC, 1450, [], [])

    def test_bad_arguments_are_refused_before_anything_is_made(self):
        netns, name = self.make_netns(), self.name()
        refused = [
            (self.net.plug_veth, (name, 1, "eth0", MAC, 1450, [], [])),
            (self.net.plug_veth, (name, "/proc/1/ns/net", "eth0", MAC, 1450, [], [])),
            (self.net.plug_veth, (name, "/run/netns/qrouter-1", "eth0", MAC, 1450, [], [])),
            (self.net.plug_veth, (name, netns + "/../x", "eth0", MAC, 1450, [], [])),
            (self.net.plug_veth, ("tap" + name[3:], netns, "eth0", MAC, 1450, [], [])),
            (self.net.create_veth, ("eth9", name + "p", MAC, 1450)),
            (self.net.create_veth, (name, "qvo" + name[3:], MAC, 1450)),
            (self.net.delete_veth, ("tap0123456789a",)),
            (self.net.delete_veth, ("lo",)),
            (self.net.plug_veth, (name, netns, "eth0 up", MAC, 1450, [], [])),
            (self.net.plug_veth, (name, netns, "eth0", "01:00:5e:00:00:01", 1450, [], [])),
            (self.net.plug_veth, (name, netns, "eth0", MAC, 10, [], [])),
            (self.net.plug_veth, (name, netns, "eth0", MAC, 1450, ["10.0.0.5"], [])),
            (self.net.plug_veth, (name, netns, "eth0", MAC, 1450, [], [["0/0", "fd00::1"]])),
            (self.net.create_veth, ("x" * 16, name + "p", MAC, 1450)),
            (self.net.create_veth, (name, name + "p", "FA:16:3E:00:00:01", 1450)),
            (self.net.move_peer, (name, name + "p", True, "eth0", [], [])),
            (self.net.move_peer, (name, "peer;", netns, "eth0", [], [])),
            (self.net.delete_veth, ("x; reboot",)),
            (self.net.veth_intact, (name, 0, "eth0", MAC)),
            (self.net.container_ifnames, (1,)),
        ]
        for entrypoint, args in refused:
            self.assertRaises(ValueError, entrypoint, *args)
        self.assertIsNone(self.links.host_link(name))
        self.assertEqual(("lo",), self.net.container_ifnames(netns))

