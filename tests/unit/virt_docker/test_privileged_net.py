"""hybridhost.privileged.net validates every argument before touching the kernel.

The entrypoints are called in-process (client mode off), so a refused argument must
raise ValueError before any netlink socket is opened; no root is needed.
"""

import os
import shutil
import tempfile
import unittest

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from pyroute2.netlink.exceptions import NetlinkError

from hybridhost import linknames
from hybridhost import privileged
from hybridhost.privileged import net

SANDBOX = "/var/run/docker/netns/0123456789ab"  # well-formed; absent on a test box


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

    def test_namespaces_are_docker_sandbox_paths(self):
        for good in (SANDBOX, "/run/hybridhost/docker/netns/fedcba987654"):
            self.assertEqual(good, net.check_netns(good))
        for bad in (1234, None, True, "/proc/1/ns/net", "/run/netns/qrouter-1",
                    "/var/run/docker/netns/default", "/var/run/docker/netns/0123456789AB",
                    "run/docker/netns/0123456789ab", "/var/run/docker/netns/../netns/0123456789ab",
                    "/var/run/docker/netns//0123456789ab", "/tmp/netns/0123456789ab/x"):
            self.assertRaises(ValueError, net.check_netns, bad)

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


class VifPrefixTest(fixtures.TestWithFixtures):
    """The privileged side touches only host links named with the configured prefix."""

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(cfg.CONF))
        privileged.vif_prefix(cfg.CONF)  # registered, as in the daemon

    def test_host_ends_need_the_configured_prefix(self):
        self.assertEqual("hhd0123456789a", net.check_host_ifname("hhd0123456789a"))
        for bad in ("tap0123456789a", "qvo0123456789a", "eth0", "lo", "hh", "xhhd0"):
            self.assertRaises(ValueError, net.check_host_ifname, bad)
        self.conf.config(group=privileged.VIF_GROUP, vif_prefix="ctr")
        self.assertEqual("ctr0123", net.check_host_ifname("ctr0123"))
        self.assertRaises(ValueError, net.check_host_ifname, "hhd0123456789a")

    def test_prefixes_of_other_programs_links_are_refused(self):
        for bad in ("tap", "ta", "tapx", "qvo", "qvb", "qr", "qg", "br", "brx", "veth", "vet",
                    "eth", "en", "ens", "lo", "vnet", "ovs", "gre", "ha", "docker"[:4]):
            self.assertRaises(ValueError, linknames.check_vif_prefix, bad)
        for good in ("hhd", "hhk", "ctr", "cv"):
            self.assertEqual(good, linknames.check_vif_prefix(good))

    def test_the_option_refuses_tap(self):
        self.assertRaises(ValueError, self.conf.config, group=privileged.VIF_GROUP,
                          vif_prefix="tap")
        self.assertRaises(ValueError, self.conf.config, group=privileged.VIF_GROUP,
                          vif_prefix="HHD")
        self.assertEqual("hhd", privileged.vif_prefix())


class NamespaceFileTest(unittest.TestCase):
    """What only the file system can tell: a sandbox path must be a non-host netns."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="hh-netns-")
        self.addCleanup(shutil.rmtree, self.root)
        os.mkdir(os.path.join(self.root, "netns"), 0o755)
        self.path = os.path.join(self.root, "netns", "0123456789ab")

    def test_a_plain_file_is_not_a_namespace(self):
        with open(self.path, "w"):
            pass
        with self.assertRaises(ValueError):
            with net.open_netns(self.path):
                pass

    def test_a_symlink_out_of_the_netns_directory_is_refused(self):
        os.symlink("/proc/self/ns/net", self.path)
        with self.assertRaisesRegex(ValueError, "not a Docker sandbox"):
            with net.open_netns(self.path):
                pass

    def test_a_missing_sandbox(self):
        with self.assertRaises(ValueError):
            with net.open_netns(SANDBOX):
                pass

    def test_the_hosts_own_namespace_is_refused(self):
        fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.addCleanup(os.close, fd)
        with self.assertRaisesRegex(ValueError, "host's network namespace"):
            net.check_netns_fd(fd, "/proc/self/ns/net")


class EntrypointTest(unittest.TestCase):

    def setUp(self):
        privileged.net_admin.set_client_mode(False)
        self.addCleanup(privileged.net_admin.set_client_mode, True)

    def test_plug_veth_refuses_bad_arguments_first(self):
        good = dict(host_ifname="hhd0123456789a", netns=SANDBOX, ifname="eth0",
                    mac="fa:16:3e:00:00:01", mtu=1500, addresses=["10.0.0.5/24"],
                    routes=[["0.0.0.0/0", "10.0.0.1"]])
        for change in ({"host_ifname": "x" * 16}, {"host_ifname": "tap0123456789a"},
                       {"netns": 4242}, {"netns": "/proc/4242/ns/net"}, {"ifname": "eth0 up"},
                       {"mac": "ff:ff:ff:ff:ff:ff"}, {"mtu": 10}, {"addresses": ["10.0.0.5"]},
                       {"routes": [["1/1", "x"]]}, {"addresses": "10.0.0.5/24"}, {}):
            with self.assertRaises(ValueError):
                net.plug_veth(**dict(good, **change))  # {} fails on the absent sandbox

    def test_two_step_plug_refuses_bad_arguments_first(self):
        for args in (("x" * 16, "hhdp", "fa:16:3e:00:00:01", 1500),
                     ("hhd0", "peer!", "fa:16:3e:00:00:01", 1500),
                     ("tap0", "hhd0p", "fa:16:3e:00:00:01", 1500),
                     ("hhd0", "eth1", "fa:16:3e:00:00:01", 1500),
                     ("hhd0", "hhd0p", "01:00:5e:00:00:01", 1500),
                     ("hhd0", "hhd0p", "fa:16:3e:00:00:01", 10)):
            self.assertRaises(ValueError, net.create_veth, *args)
        good = dict(host_ifname="hhd0123456789a", peer_ifname="hhd0123456789ap",
                    netns=SANDBOX, ifname="eth0", addresses=["10.0.0.5/24"],
                    routes=[["0.0.0.0/0", "10.0.0.1"]])
        for change in ({"peer_ifname": "y" * 16}, {"peer_ifname": "qvb0123456789a"},
                       {"netns": 1}, {"ifname": "eth0 up"}, {"addresses": ["10.0.0.5"]},
                       {"routes": "0/0"}, {}):
            with self.assertRaises(ValueError):
                net.move_peer(**dict(good, **change))  # {} fails on the absent sandbox

    def test_other_entrypoints_validate(self):
        self.assertRaises(ValueError, net.delete_veth, "bad name!")
        self.assertRaises(ValueError, net.delete_veth, "tap0123456789a")
        self.assertRaises(ValueError, net.delete_veth, "br-int")
        self.assertRaises(ValueError, net.veth_intact, "hhdx", 1, "eth0", "fa:16:3e:00:00:01")
        self.assertRaises(ValueError, net.veth_intact, "eth0", SANDBOX, "eth0",
                          "fa:16:3e:00:00:01")
        self.assertRaises(ValueError, net.container_ifnames, 0)
        self.assertRaises(ValueError, net.container_ifnames, "/proc/1/ns/net")

    def test_entrypoints_are_bound_to_the_hybridhost_context(self):
        for entrypoint in (net.plug_veth, net.create_veth, net.move_peer, net.delete_veth,
                           net.veth_intact, net.container_ifnames):
            self.assertIs(privileged.net_admin, entrypoint.func.__self__)

    def test_the_daemon_needs_no_ptrace(self):
        """The namespace is a sandbox file, not /proc/<pid>/ns/net: no CAP_SYS_PTRACE."""
        from oslo_privsep import capabilities as caps

        self.assertEqual((caps.CAP_NET_ADMIN, caps.CAP_SYS_ADMIN), privileged.CAPABILITIES)



HOST_END = "hhd0123456789a"


class VanishingLinkIPRoute:
    """The IPRoute seam for a host whose old veth ``OLD`` is found by name, then gone at
    step ``gone_at`` (the kernel deleted it: its peer's netns died meanwhile)."""

    OLD, NEW = 7, 8

    def __init__(self, gone_at, error=19):
        self.gone_at, self.error = gone_at, error
        self.links = {HOST_END: self.OLD}
        self.calls = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def link_lookup(self, ifname):
        return [self.links[ifname]] if ifname in self.links else []

    def get_links(self, index):
        self._step("get_links", index)
        return [_VethLink()]

    def link(self, command, index=None, ifname=None, **kwargs):
        self._step(command, index)
        if command == "del":
            self.links = {k: v for k, v in self.links.items() if v != index}
        elif command == "add":
            self.links[ifname] = self.NEW

    def _step(self, name, index):
        self.calls.append(name)
        if name == self.gone_at and index == self.OLD:
            self.links.pop(HOST_END, None)
            raise NetlinkError(self.error, "No such device")


class _VethLink:
    def get_nested(self, *path):
        return "veth"


class VanishingLinkTest(fixtures.TestWithFixtures):
    """create_veth deletes a stale pair of the same name first; the kernel may delete
    it too, asynchronously, after a container stopped. Gone is what the delete wanted."""

    def setUp(self):
        super().setUp()
        privileged.net_admin.set_client_mode(False)
        self.addCleanup(privileged.net_admin.set_client_mode, True)

    def create(self, ipr):
        self.useFixture(fixtures.MockPatchObject(net, "IPRoute", lambda: ipr))
        return net.create_veth(HOST_END, HOST_END + "p", "fa:16:3e:00:00:01", 1450)

    def test_a_link_gone_before_its_kind_is_read(self):
        ipr = VanishingLinkIPRoute(gone_at="get_links")
        self.assertEqual(ipr.NEW, self.create(ipr))
        self.assertEqual(["get_links", "add", "set"], ipr.calls)

    def test_a_link_gone_before_the_delete(self):
        ipr = VanishingLinkIPRoute(gone_at="del")
        self.assertEqual(ipr.NEW, self.create(ipr))
        self.assertEqual(["get_links", "del", "add", "set"], ipr.calls)

    def test_other_netlink_errors_are_not_hidden(self):
        ipr = VanishingLinkIPRoute(gone_at="get_links", error=1)
        self.assertRaises(NetlinkError, self.create, ipr)
        self.assertEqual(["get_links"], ipr.calls)
