"""The OVS and privileged-net contracts against FakeOvsPorts and FakeNet."""

import itertools
import unittest

from tests.contract import net_contract
from tests.contract import ovs_contract
from tests.unit.virt_docker import fake_plumbing


class FakeOvsPortsContractTest(ovs_contract.OvsPortsContract, unittest.TestCase):

    bridge = "br-hhcontract"

    def setUp(self):
        self.net = fake_plumbing.FakeNet()
        self.switch = fake_plumbing.FakeOvsPorts("switch", bridges=[self.bridge],
                                                 link_exists=self.net.host_link)
        super().setUp()

    def make_ports(self, owner):
        return self.switch.sibling(owner)

    def make_link(self, name):
        self.net.create_veth(name, name + "p", ovs_contract.MAC, 1500)


class FakeNetContractTest(net_contract.NetContract, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.net = self.links = fake_plumbing.FakeNet()
        self._ids = itertools.count(7000)

    def make_netns(self):
        return "/var/run/docker/netns/%012x" % next(self._ids)

    def end_netns(self, netns):
        self.net.netns_gone(netns)
