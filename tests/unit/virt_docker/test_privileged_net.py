"""hybridhost.privileged.net validates every argument before touching the kernel.

The entrypoints are called in-process (client mode off), so a refused argument must
raise ValueError before any netlink socket is opened; no root is needed.
"""

import os
import unittest

from hybridhost import privileged
from hybridhost.privileged import net


class ValidatorTest(unittest.TestCase):

    def test_interface_names(self):
        for good in ("eth0", "hhd0123456789a", "a" * 15, "br-int.100"):
            self.assertEqual(good, net.check_ifname(good))
        for bad in ("", "a" * 16, "eth0;rm", "../x", "eth 0", "-x", None, 5, "é"):
            self.assertRaises(ValueError, net.check_ifname, bad)

    def test_mac_addresses(self):
        self.assertEqual("fa:16:3e:00:00:01", net.check_mac("fa:16:3e:00:00:01"))
        for bad in ("FA:16:3E:00:00:01", "fa:16:3e:00:00", "01:00:5e:00:00:01", "zz:16:3e:00:00:01",
                    "fa-16-3e-00-00-01", None):
            self.assertRaises(ValueError, net.check_mac, bad)

    def test_pids(self):
        for bad in (0, -5, 1, True, "123", 2 ** 31):
            self.assertRaises(ValueError, net.check_pid, bad)
        self.assertRaises(ValueError, net.check_pid, os.getpid())  # host netns refused

    def test_mtu_bounds(self):
        self.assertEqual(1450, net.check_mtu(1450))
        for bad in (67, 65536, "1500", None, True):
            self.assertRaises(ValueError, net.check_mtu, bad)

    def test_addresses_and_routes(self):
        self.assertEqual("10.0.0.5/24", str(net.check_cidr("10.0.0.5/24")))
        for bad in ("10.0.0.5", "10.0.0.300/24", "x/24", None):
            self.assertRaises(ValueError, net.check_cidr, bad)
        net.check_route(["0.0.0.0/0", "10.0.0.1"])
        for bad in (["0.0.0.0/0", "fd00::1"], ["10.0.0.5/24", "10.0.0.1"], ["x", "y"], "0/0",
                    ["::/0"]):
            self.assertRaises(ValueError, net.check_route, bad)


class EntrypointTest(unittest.TestCase):

    def setUp(self):
        privileged.net_admin.set_client_mode(False)
        self.addCleanup(privileged.net_admin.set_client_mode, True)

    def test_plug_veth_refuses_bad_arguments_first(self):
        good = dict(host_ifname="hhd0123456789a", pid=2 ** 22 + 7, ifname="eth0",
                    mac="fa:16:3e:00:00:01", mtu=1500, addresses=["10.0.0.5/24"],
                    routes=[["0.0.0.0/0", "10.0.0.1"]])
        for change in ({"host_ifname": "x" * 16}, {"ifname": "eth0 up"},
                       {"mac": "ff:ff:ff:ff:ff:ff"}, {"mtu": 10}, {"addresses": ["10.0.0.5"]},
                       {"routes": [["1/1", "x"]]}, {"addresses": "10.0.0.5/24"}, {}):
            with self.assertRaises(ValueError):
                net.plug_veth(**dict(good, **change))  # {} fails on the non-existent pid

    def test_two_step_plug_refuses_bad_arguments_first(self):
        for args in (("x" * 16, "hhdp", "fa:16:3e:00:00:01", 1500),
                     ("hhd0", "peer!", "fa:16:3e:00:00:01", 1500),
                     ("hhd0", "hhd0p", "01:00:5e:00:00:01", 1500),
                     ("hhd0", "hhd0p", "fa:16:3e:00:00:01", 10)):
            self.assertRaises(ValueError, net.create_veth, *args)
        good = dict(host_ifname="hhd0123456789a", peer_ifname="hhd0123456789ap",
                    pid=2 ** 22 + 7, ifname="eth0", addresses=["10.0.0.5/24"],
                    routes=[["0.0.0.0/0", "10.0.0.1"]])
        for change in ({"peer_ifname": "y" * 16}, {"pid": 1}, {"ifname": "eth0 up"},
                       {"addresses": ["10.0.0.5"]}, {"routes": "0/0"}, {}):
            with self.assertRaises(ValueError):
                net.move_peer(**dict(good, **change))  # {} fails on the non-existent pid

    def test_other_entrypoints_validate(self):
        self.assertRaises(ValueError, net.delete_veth, "bad name!")
        self.assertRaises(ValueError, net.veth_intact, "hhdx", 1, "eth0", "fa:16:3e:00:00:01")
        self.assertRaises(ValueError, net.container_ifnames, 0)

    def test_entrypoints_are_bound_to_the_hybridhost_context(self):
        for entrypoint in (net.plug_veth, net.create_veth, net.move_peer, net.delete_veth,
                           net.veth_intact, net.container_ifnames):
            self.assertIs(privileged.net_admin, entrypoint.func.__self__)
