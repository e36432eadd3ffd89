"""The plumbing layers on their own, for real: OVSDB adapter, privsep boundary, shim, restart."""

import importlib.util
import os
import unittest
import uuid as uuidlib

from nova.compute import power_state

from hybridhost.virt.docker import ovs
from tests.functional import base as functional_base
from tests.functional.virt_docker import base


class OvsPortsTest(unittest.TestCase):

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

    def setUp(self):
        self.mine = ovs.OvsPorts(base.OVSDB, owner="hhtest-owner-a", api=self.api)
        self.theirs = ovs.OvsPorts(base.OVSDB, owner="hhtest-owner-b", api=self.api)
        self.names = []

    def _veth(self):
        """A real veth (host end is what gets an OpenFlow port), removed afterwards."""
        from pyroute2 import IPRoute

        name = "hht%s" % uuidlib.uuid4().hex[:8]
        with IPRoute() as ipr:
            ipr.link("add", ifname=name, kind="veth", peer={"ifname": name + "p"})
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
        self.addCleanup(self._delete_veth, name)
        self.addCleanup(self.api.del_port(name, if_exists=True).execute, check_error=True)
        return name

    @staticmethod
    def _delete_veth(name):
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            found = ipr.link_lookup(ifname=name)
            if found:
                ipr.link("del", index=found[0])

    def test_add_get_delete_with_owner(self):
        name = self._veth()
        self.mine.add_port(self.bridge, name, "port-1", "fa:16:3e:00:00:aa", "vm-1", mtu=1400)
        port = self.mine.get_port(name)
        self.assertEqual(("port-1", "fa:16:3e:00:00:aa", "vm-1", "hhtest-owner-a", self.bridge),
                         (port.iface_id, port.mac, port.vm_uuid, port.owner, port.bridge))
        self.assertGreater(port.ofport, 0)
        self.assertEqual([name], [p.name for p in self.mine.list_own_ports()])
        self.assertNotIn(name, [p.name for p in self.theirs.list_own_ports()])
        self.assertFalse(self.theirs.delete_port(name))  # not theirs: left alone
        self.assertIsNotNone(self.mine.get_port(name))
        self.assertTrue(self.mine.delete_port(name))
        self.assertIsNone(self.mine.get_port(name))
        self.assertFalse(self.mine.delete_port(name))

    def test_readding_a_port_reopens_the_netdev(self):
        name = self._veth()
        self.mine.add_port(self.bridge, name, "port-1", "fa:16:3e:00:00:aa", "vm-1")
        self.mine.add_port(self.bridge, name, "port-2", "fa:16:3e:00:00:bb", "vm-1")
        port = self.mine.get_port(name)
        self.assertEqual(("port-2", "fa:16:3e:00:00:bb"), (port.iface_id, port.mac))
        self.assertGreater(port.ofport, 0)

    def test_delete_ports_of_takes_the_given_neutron_ports_whoever_owns_them(self):
        """The lab's clean-up after its DHCP agent: by iface-id, not by owner."""
        gone, kept = self._veth(), self._veth()
        self.theirs.add_port(self.bridge, gone, "dhcp-port", "fa:16:3e:00:00:cc", "dhcp")
        self.mine.add_port(self.bridge, kept, "port-1", "fa:16:3e:00:00:aa", "vm-1")
        self.assertEqual([gone], ovs.delete_ports_of(base.OVSDB, ["dhcp-port", "absent"]))
        functional_base.wait_until(lambda: self.theirs.get_port(gone) is None, 10,
                                   interval=0.1, what="the IDL to see the delete")
        self.assertIsNotNone(self.mine.get_port(kept))
        self.assertEqual([], ovs.delete_ports_of(base.OVSDB, ["dhcp-port"]))

    def test_missing_bridge(self):
        from hybridhost import exception

        self.assertRaises(exception.BridgeMissing, self.mine.require_bridge, "br-hh-absent")


class PrivsepBoundaryTest(base.DriverTestCase):

    def test_bad_arguments_are_refused_through_the_daemon(self):
        import hybridhost.privileged.net as net

        self.assertRaises(ValueError, net.delete_veth, "x; reboot")
        self.assertRaises(ValueError, net.plug_veth, "hhdok", 1, "eth0", "fa:16:3e:00:00:01", 1500,
                          [], [])
        self.assertRaises(ValueError, net.plug_veth, "hhdok", os.getpid(), "eth0",
                          "fa:16:3e:00:00:01", 1500, [], [])  # the host's own namespace
        self.assertFalse(net.delete_veth("hhdabsent"))


class RestartTest(base.DriverTestCase):

    def test_new_service_replugs_running_containers_at_init_host(self):
        """nova-compute restarts: a fresh driver re-plugs a container whose VIF was lost."""
        glance_id = self.add_image()
        port = str(uuidlib.uuid4())
        info = base.network_info(self.bridge, [(port, base.new_mac(), [
            ("10.80.0.0/24", "10.80.0.10", "10.80.0.1")])])
        peer_info = base.network_info(self.bridge, [(str(uuidlib.uuid4()), base.new_mac(), [
            ("10.80.0.0/24", "10.80.0.11", "10.80.0.1")])])
        vm = self.spawn(glance_id, info)
        peer = self.spawn(glance_id, peer_info)
        import hybridhost.privileged.net as net
        net.delete_veth(("hhd" + port)[:14])  # the VIF is lost while the service is down
        self.driver.ovs.delete_port(("hhd" + port)[:14])
        self.assertFalse(self.ping(vm, "10.80.0.11", count=1))
        from hybridhost.virt.docker import driver as driver_mod
        fresh = driver_mod.DockerDriver(self.virtapi, image_service=self.images)
        fresh.init_host(self.host)
        self.addCleanup(fresh.cleanup_host, self.host)
        self.assertEqual(power_state.RUNNING, fresh.get_info(vm).state)
        self.assertTrue(self.ping(vm, "10.80.0.11"))
        self.assertTrue(self.ping(peer, "10.80.0.10"))


class ShimTest(unittest.TestCase):

    def test_nova_loads_the_driver_by_its_short_name(self):
        """compute_driver = hybridhost_docker.DockerDriver resolves through nova.virt."""
        if importlib.util.find_spec("nova.virt.hybridhost_docker") is None:
            base._unavailable("the nova.virt.hybridhost_docker shim is not installed "
                              "(pip install --no-deps . into the venv)")
        from nova.virt import driver as nova_driver

        from hybridhost.virt.docker import driver as driver_mod

        loaded = nova_driver.load_compute_driver(None, "hybridhost_docker.DockerDriver")
        self.assertIsInstance(loaded, driver_mod.DockerDriver)
