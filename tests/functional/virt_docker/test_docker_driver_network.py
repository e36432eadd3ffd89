"""The Docker driver against a real dockerd and a real userspace OVS: the data plane.

What the fakes cannot show: packets flow between containers after every (re-)plug, the
OVSDB-driven ``network-vif-plugged`` arrives, a non-root container is plugged. The
control-plane behaviours are in tests/contract/driver_contract.py.
"""

import contextlib
import os

import docker

from tests.contract import nova_objects
from tests.contract import tarballs
from tests.functional.virt_docker import base


class NetworkTest(base.DriverTestCase):

    def _two_vms(self):
        glance_id = self.add_image()
        infos = [nova_objects.ports(self.bridge, [
            ("10.77.0.0/24", "10.77.0.%d" % (10 + i), "10.77.0.1"),
            ("fd77::/64", "fd77::%d" % (10 + i), None)]) for i in range(2)]
        vms = [self.spawn(glance_id, info) for info in infos]
        return vms, infos

    def test_two_containers_on_one_network_ping_each_other(self):
        (vm1, vm2), _infos = self._two_vms()
        self.assertTrue(self.ping(vm1, "10.77.0.11"))
        self.assertTrue(self.ping(vm2, "10.77.0.10"))
        self.assertTrue(self.ping(vm1, "fd77::11"))
        self.assertIn("UP", self.exec(vm1, "ip", "link", "show", "lo")[1])

    def test_the_network_survives_power_off_on_and_reboots(self):
        (vm1, _vm2), (ni1, _ni2) = self._two_vms()
        self.driver.power_off(vm1, timeout=5)
        self.driver.power_on(self.context, vm1, ni1)
        self.assertTrue(self.ping(vm1, "10.77.0.11"))
        for reboot_type in ("SOFT", "HARD"):
            self.driver.reboot(self.context, vm1, ni1, reboot_type)
            self.assertTrue(self.ping(vm1, "10.77.0.11"), reboot_type)

    def test_restart_outside_the_driver_is_replugged_by_the_watcher(self):
        """A `docker restart` gives a new netns; the events watcher re-plugs it."""
        self.driver.init_host(self.host)
        (vm1, _vm2), _infos = self._two_vms()
        self.docker.restart("nova-" + vm1.uuid, timeout=1)
        self.assertTrue(base.wait_for(lambda: self.ping(vm1, "10.77.0.11", count=1), timeout=15))

    def test_spawn_waits_for_vif_plugged_events(self):
        """Spawn returns only after the plugged event of every port was delivered."""
        (vm1, vm2), (ni1, ni2) = self._two_vms()
        delivered = {(uuid, port) for uuid, _name, port in self.virtapi.delivered}
        self.assertEqual({(vm1.uuid, ni1[0]["id"]), (vm2.uuid, ni2[0]["id"])}, delivered)

    def test_a_container_running_as_another_user_is_plugged(self):
        """The privsep daemon can enter the netns of a non-root container process."""
        path = os.path.join(self.tmp, "user.tar")
        image_id = tarballs.write_tarball(path, self.layer, user="1000:1000")
        self.addCleanup(self._remove_image, image_id)
        glance_id = self.add_image(path)
        vm = self.spawn(glance_id, nova_objects.ports(self.bridge, [
            ("10.76.0.0/24", "10.76.0.10", "10.76.0.1")]))
        pid = self.driver.engine.get(vm.uuid).pid
        with open("/proc/%d/status" % pid) as status:
            uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
        self.assertEqual(["1000"] * 4, uids)
        self.assertIn("10.76.0.10/24", self.exec(vm, "ip", "addr", "show", "eth0")[1])

    def _remove_image(self, image_id):
        with contextlib.suppress(docker.errors.APIError):
            self.docker.remove_image(image_id, force=True)
