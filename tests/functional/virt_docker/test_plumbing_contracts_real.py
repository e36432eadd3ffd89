"""The OVS and privileged-net contracts against the real thing (same assertions as the fakes).

OVS: a real OVSDB and ovs-vswitchd, on a bridge of the test's own. Net: the real
entrypoints through the privsep daemon, plugging into network namespaces kept by files
(``unshare --net=<dir>/netns/<12 hex>``, as Docker keeps a sandbox's) that the test
makes and unmounts.
"""

import os
import subprocess
import unittest
import uuid

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from pyroute2 import IPRoute

import hybridhost.privileged.net
from hybridhost.virt.docker import ovs
from tests.contract import net_contract
from tests.contract import ovs_contract
from tests.functional.virt_docker import base


class RealOvsPortsContractTest(ovs_contract.OvsPortsContract, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        base.require_root()
        cls.api = base.require_ovs()
        cls.bridge_fixture = base.TestBridge(cls.api)
        cls.bridge_fixture.setUp()
        cls.bridge = cls.bridge_fixture.name

    @classmethod
    def tearDownClass(cls):
        cls.bridge_fixture.cleanUp()

    def make_ports(self, owner):
        return ovs.OvsPorts(base.OVSDB, owner=owner, api=self.api)

    def make_link(self, name):
        with IPRoute() as ipr:
            ipr.link("add", ifname=name, kind="veth", peer={"ifname": name + "p"})
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
        self.addCleanup(_delete_link, name)

    def test_delete_ports_of_takes_the_given_neutron_ports_whoever_owns_them(self):
        """The lab's clean-up after its DHCP agent: by iface-id, not by owner (real only)."""
        gone, kept = self.name(), self.name()
        self.theirs.add_port(self.bridge, gone, "dhcp-port", ovs_contract.MAC, "dhcp")
        self.mine.add_port(self.bridge, kept, "port-1", ovs_contract.OTHER_MAC, "vm-1")
        self.assertEqual([gone], ovs.delete_ports_of(base.OVSDB, ["dhcp-port", "absent"]))
        net_contract.eventually(lambda: self.theirs.get_port(gone) is None,
                                "the IDL to see the delete")
        self.assertIsNotNone(self.mine.get_port(kept))
        self.assertEqual([], ovs.delete_ports_of(base.OVSDB, ["dhcp-port"]))

    def test_rows_being_updated_are_neither_missed_nor_left(self):
        """The IDL thread takes a row out of its table while it applies an update to it;
        reads and deletes from other threads must still find it (real only; the threads
        are made to switch often so that the window shows)."""
        names = [self.name() for _ in range(4)]
        for number, name in enumerate(names):
            self.mine.add_port(self.bridge, name, "port-%d" % number, ovs_contract.MAC, "vm-1")
        missed = []
        with base.updating_rows(self.api, names), base.switching_often():
            for _ in range(300):
                missed += [name for name in names if self.mine.get_port(name) is None]
                missed += sorted(set(names) - {p.name for p in self.mine.list_own_ports()})
            deleted = [self.mine.delete_port(name) for name in names]
        self.assertEqual(([], [True] * len(names)), (missed, deleted))
        self.assertEqual([None] * len(names), [self.mine.get_port(name) for name in names])


def _delete_link(name):
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if found:
            ipr.link("del", index=found[0])


class RealNetContractTest(net_contract.NetContract, fixtures.TestWithFixtures):

    net = hybridhost.privileged.net
    links = base.KernelLinks()

    def setUp(self):
        base.require_root()
        super().setUp()
        conf = self.useFixture(config_fixture.Config(cfg.CONF))
        conf.config(group="hybridhost_docker_privileged", helper_command=base.PRIVSEP_HELPER)
        self.netns_dir = os.path.join(self.useFixture(fixtures.TempDir()).path, "netns")
        os.mkdir(self.netns_dir, 0o755)

    def make_netns(self):
        """A network namespace kept by a file, as Docker keeps a sandbox's."""
        path = os.path.join(self.netns_dir, uuid.uuid4().hex[:12])
        with open(path, "w"):
            pass
        subprocess.run(["unshare", "--net=" + path, "true"], check=True)
        self.addCleanup(self.end_netns, path)
        return path

    def end_netns(self, netns):
        if os.path.ismount(netns):
            subprocess.run(["umount", netns], check=True)

    def test_the_hosts_own_namespace_is_refused(self):
        """What no fake can tell: a sandbox path that is the host's namespace (real only)."""
        path = os.path.join(self.netns_dir, "0123456789ab")
        with open(path, "w"):
            pass
        subprocess.run(["mount", "--bind", "/proc/self/ns/net", path], check=True)
        self.addCleanup(self.end_netns, path)
        error = net_contract.raised(ValueError, self.net.plug_veth, self.name(), path, "eth0",
                                    net_contract.MAC, 1500, [], [])
        self.assertIn("host's network namespace", str(error))

    def test_a_veth_whose_netns_just_died_is_created_again(self):
        """What no fake can tell: the kernel deletes the old pair asynchronously once the
        container's netns dies, so the old host end can vanish while create_veth deletes
        it (real only; before the fix, 1 attempt in 600 failed with ENODEV here)."""
        name = self.name()
        self.addCleanup(_delete_link, name)
        for _attempt in range(50):
            netns = self.make_netns()
            self.net.create_veth(name, name + "p", net_contract.MAC, 1500)
            self.net.move_peer(name, name + "p", netns, "eth0", [], [])
            self.end_netns(netns)
            index = self.net.create_veth(name, name + "p", net_contract.MAC, 1500)
            self.assertEqual(index, self.links.host_link(name))

    def test_a_link_of_ours_by_name_that_is_no_veth_is_not_touched(self):
        """What no fake can tell: the kind of a link (real only)."""
        name = self.name()
        with IPRoute() as ipr:
            ipr.link("add", ifname=name, kind="ifb")
        self.addCleanup(_delete_link, name)
        for call, args in ((self.net.delete_veth, (name,)),
                           (self.net.create_veth, (name, name + "p", net_contract.MAC, 1500)),
                           (self.net.plug_veth, (name, self.make_netns(), "eth0",
                                                 net_contract.MAC, 1500, [], []))):
            error = net_contract.raised(ValueError, call, *args)
            self.assertIn("not a veth", str(error))
        self.assertIsNotNone(self.links.host_link(name))
