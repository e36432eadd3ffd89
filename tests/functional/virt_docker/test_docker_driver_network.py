"""The Docker driver against a real dockerd and a real userspace OVS: network plumbing."""

import contextlib
import os
import uuid as uuidlib

import docker

from tests.contract import tarballs
from tests.functional.virt_docker import base


class NetworkTest(base.DriverTestCase):

    def _two_vms(self):
        glance_id = self.add_image()
        ports = [str(uuidlib.uuid4()) for _ in range(2)]
        infos = [base.network_info(self.bridge, [(port, base.new_mac(), [
            ("10.77.0.0/24", "10.77.0.%d" % (10 + i), "10.77.0.1"),
            ("fd77::/64", "fd77::%d" % (10 + i), None)])]) for i, port in enumerate(ports)]
        vms = [self.spawn(glance_id, info) for info in infos]
        return vms, infos

    def test_two_containers_on_one_network_ping_each_other(self):
        """Spawned containers get eth0 with the port's MAC/IPs and reach each other."""
        (vm1, vm2), (ni1, _ni2) = self._two_vms()
        self.assertTrue(self.ping(vm1, "10.77.0.11"))
        self.assertTrue(self.ping(vm2, "10.77.0.10"))
        self.assertTrue(self.ping(vm1, "fd77::11"))
        code, out = self.exec(vm1, "ip", "addr", "show", "eth0")
        self.assertEqual(0, code)
        self.assertIn(ni1[0]["address"], out)
        self.assertIn("mtu 1450", out)
        self.assertIn("10.77.0.10/24", out)
        self.assertIn("fd77::10/64", out)

    def test_spawn_waits_for_vif_plugged_events(self):
        """Spawn returns only after the plugged event of every port was delivered."""
        (vm1, vm2), (ni1, ni2) = self._two_vms()
        delivered = {(uuid, port) for uuid, _name, port in self.virtapi.delivered}
        self.assertEqual({(vm1.uuid, ni1[0]["id"]), (vm2.uuid, ni2[0]["id"])}, delivered)

    def test_ovs_row_carries_agent_and_owner_ids(self):
        """The OVS Interface row has iface-id, attached-mac, vm-uuid, iface-status and owner."""
        (vm1, _vm2), (ni1, _ni2) = self._two_vms()
        port = self.driver.ovs.get_port(("hhd" + ni1[0]["id"])[:14])
        self.assertEqual(ni1[0]["id"], port.iface_id)
        self.assertEqual(ni1[0]["address"], port.mac)
        self.assertEqual(vm1.uuid, port.vm_uuid)
        self.assertEqual(self.host, port.owner)
        self.assertEqual(self.bridge, port.bridge)
        self.assertGreater(port.ofport, 0)

    def test_default_route_only_where_subnet_has_gateway(self):
        """IPv4 (gateway) gets a default route; IPv6 (no gateway) gets none."""
        (vm1, _vm2), _infos = self._two_vms()
        self.assertIn("default via 10.77.0.1 dev eth0", self.exec(vm1, "ip", "route")[1])
        self.assertNotIn("default", self.exec(vm1, "ip", "-6", "route")[1])
        self.assertIn("UP", self.exec(vm1, "ip", "link", "show", "lo")[1])

    def test_a_container_running_as_another_user_is_plugged(self):
        """The privsep daemon can enter the netns of a non-root container process."""
        path = os.path.join(self.tmp, "user.tar")
        image_id = tarballs.write_tarball(path, self.layer, user="1000:1000")
        self.addCleanup(self._remove_image, image_id)
        glance_id = self.add_image(path)
        vm = self.spawn(glance_id, base.network_info(self.bridge, [(str(uuidlib.uuid4()), base.new_mac(), [
            ("10.76.0.0/24", "10.76.0.10", "10.76.0.1")])]))
        pid = self.driver.engine.get(vm.uuid).pid
        with open("/proc/%d/status" % pid) as status:
            uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
        self.assertEqual(["1000"] * 4, uids)
        self.assertIn("10.76.0.10/24", self.exec(vm, "ip", "addr", "show", "eth0")[1])

    def _remove_image(self, image_id):
        with contextlib.suppress(docker.errors.APIError):
            self.docker.remove_image(image_id, force=True)

    def test_plug_vifs_keeps_an_intact_vif_and_repairs_a_broken_one(self):
        """nova calls plug_vifs at every service start: intact VIFs are left alone."""
        (vm1, _vm2), (ni1, _ni2) = self._two_vms()
        name = ("hhd" + ni1[0]["id"])[:14]
        with open("/sys/class/net/%s/ifindex" % name) as index_file:
            index = index_file.read()
        self.driver.plug_vifs(vm1, ni1)
        with open("/sys/class/net/%s/ifindex" % name) as index_file:
            self.assertEqual(index, index_file.read())
        self.driver.ovs.delete_port(name)
        self.driver.plug_vifs(vm1, ni1)
        self.assertGreater(self.driver.ovs.get_port(name).ofport, 0)
        self.assertTrue(self.ping(vm1, "10.77.0.11"))
