"""The Docker driver against a real dockerd and OVS: lifecycle, images, resources."""

import os
import tarfile
import uuid as uuidlib

import docker
from nova import exception as nova_exception
from nova.compute import power_state
from nova.compute import task_states

from hybridhost.virt.docker import driver as driver_mod
from tests.contract import tarballs
from tests.functional.virt_docker import base


def _veth_exists(name):
    return os.path.exists("/sys/class/net/%s" % name)


class LifecycleTest(base.DriverTestCase):

    def _pair(self):
        glance_id = self.add_image()
        ports = [str(uuidlib.uuid4()) for _ in range(2)]
        infos = [base.network_info(self.bridge, [(port, base.new_mac(), [
            ("10.78.0.0/24", "10.78.0.%d" % (10 + i), "10.78.0.1")])])
            for i, port in enumerate(ports)]
        return [self.spawn(glance_id, info) for info in infos], infos

    def _host_ifname(self, net_info):
        return ("hhd" + net_info[0]["id"])[:14]

    def test_power_off_and_on_keep_the_network(self):
        """After power off + power on the container is RUNNING and pings again."""
        (vm1, _vm2), (ni1, _ni2) = self._pair()
        self.driver.power_off(vm1, timeout=5)
        self.assertEqual(power_state.SHUTDOWN, self.driver.get_info(vm1).state)
        self.assertIsNone(self.driver.ovs.get_port(self._host_ifname(ni1)))
        self.driver.power_on(self.context, vm1, ni1)
        self.assertEqual(power_state.RUNNING, self.driver.get_info(vm1).state)
        self.assertTrue(self.ping(vm1, "10.78.0.11"))

    def test_soft_and_hard_reboot_keep_the_network(self):
        (vm1, _vm2), (ni1, _ni2) = self._pair()
        for reboot_type in ("SOFT", "HARD"):
            pid_before = self.driver.engine.get(vm1.uuid).pid
            self.driver.reboot(self.context, vm1, ni1, reboot_type)
            self.assertNotEqual(pid_before, self.driver.engine.get(vm1.uuid).pid)
            self.assertTrue(self.ping(vm1, "10.78.0.11"), reboot_type)

    def test_restart_outside_the_driver_is_replugged_by_the_watcher(self):
        """A `docker restart` gives a new netns; the events watcher re-plugs it."""
        self.driver.init_host(self.host)
        (vm1, _vm2), _infos = self._pair()
        self.docker.restart("nova-" + vm1.uuid, timeout=1)
        self.assertTrue(base.wait_for(lambda: self.ping(vm1, "10.78.0.11", count=1), timeout=15))

    def test_watcher_emits_lifecycle_events(self):
        events = []
        self.driver.register_event_listener(events.append)
        self.driver.init_host(self.host)
        (vm1, _vm2), _infos = self._pair()
        self.driver.pause(vm1)
        self.assertEqual(power_state.PAUSED, self.driver.get_info(vm1).state)
        self.driver.unpause(vm1)
        self.driver.power_off(vm1, timeout=5)
        wanted = {"Started", "Paused", "Resumed", "Stopped"}
        self.assertTrue(base.wait_for(lambda: wanted <= {
            e.get_name() for e in events if e.uuid == vm1.uuid}, timeout=10), events)

    def test_destroy_leaves_no_container_veth_or_ovs_row(self):
        (vm1, _vm2), (ni1, _ni2) = self._pair()
        name = self._host_ifname(ni1)
        self.assertTrue(_veth_exists(name))
        self.driver.destroy(self.context, vm1, ni1)
        self.driver.destroy(self.context, vm1, ni1)  # idempotent
        self.assertFalse(self.driver.instance_exists(vm1))
        self.assertFalse(_veth_exists(name))
        self.assertIsNone(self.driver.ovs.get_port(name))
        self.assertEqual([], self.docker.containers(all=True, filters={"name": "nova-" + vm1.uuid}))
        self.assertRaises(nova_exception.InstanceNotFound, self.driver.get_info, vm1)

    def test_only_own_containers_are_listed(self):
        (vm1, vm2), _infos = self._pair()
        foreign = self.docker.create_container(
            self.tarball_image_id, labels={"nova.uuid": str(uuidlib.uuid4()),
                                           "nova.host": "someone-else", base.TEST_LABEL: "1"})
        self.addCleanup(self.docker.remove_container, foreign["Id"], force=True)
        self.assertEqual(sorted([vm1.uuid, vm2.uuid]), sorted(self.driver.list_instance_uuids()))
        self.assertEqual(sorted([vm1.name, vm2.name]), sorted(self.driver.list_instances()))

    def test_console_output_is_the_container_log(self):
        (vm1, _vm2), _infos = self._pair()
        self.assertTrue(base.wait_for(
            lambda: b"hybridhost-console-ok" in self.driver.get_console_output(self.context, vm1)))

    def test_container_is_confined(self):
        """Never privileged, all caps dropped but the configured set, limits from the flavor."""
        (vm1, _vm2), _infos = self._pair()
        host_config = self.docker.inspect_container("nova-" + vm1.uuid)["HostConfig"]
        self.assertFalse(host_config["Privileged"])
        self.assertEqual(["ALL"], host_config["CapDrop"])
        self.assertEqual(sorted(self.cap_add), sorted(host_config["CapAdd"]))
        self.assertIn("no-new-privileges", host_config["SecurityOpt"])
        self.assertEqual(128 * 1024 * 1024, host_config["Memory"])
        self.assertEqual(10 ** 9, host_config["NanoCpus"])
        self.assertEqual(1024, host_config["PidsLimit"])
        self.assertFalse(host_config.get("Binds"))
        self.assertEqual("none", host_config["NetworkMode"])

    def test_attach_and_detach_interface(self):
        (vm1, _vm2), (ni1, _ni2) = self._pair()
        extra = base.network_info(self.bridge, [(str(uuidlib.uuid4()), base.new_mac(), [
            ("10.79.0.0/24", "10.79.0.10", "10.79.0.1")])])[0]
        self.driver.attach_interface(self.context, vm1, None, extra)
        code, out = self.exec(vm1, "ip", "addr", "show", "eth1")
        self.assertEqual(0, code)
        self.assertIn("10.79.0.10/24", out)
        self.assertIn("default via 10.78.0.1 dev eth0", self.exec(vm1, "ip", "route")[1])
        self.driver.detach_interface(self.context, vm1, extra)
        self.assertNotEqual(0, self.exec(vm1, "ip", "link", "show", "eth1")[0])
        self.assertIsNone(self.driver.ovs.get_port(("hhd" + extra["id"])[:14]))


class ImageTest(base.DriverTestCase):

    def test_broken_tarballs_give_a_clear_fault_and_leave_nothing(self):
        layer = tarballs.tiny_layer()
        cases = {
            "no-manifest": dict(layout="no-manifest"),
            "two-images": dict(manifest=[{"Config": "a.json", "Layers": []}] * 2),
            "escape": dict(extra=[("../evil", b"x")]),
        }
        image_ids = []
        for name, kwargs in cases.items():
            path = os.path.join(self.tmp, name + ".tar")
            image_ids.append(tarballs.write_tarball(path, layer, **kwargs))
            glance_id = self.add_image(path)
            instance = self.make_instance(glance_id)
            with self.assertRaises(nova_exception.ImageUnacceptable) as ctx:
                self.driver.spawn(self.context, instance, self.image_meta(glance_id), [], None, {},
                                  network_info=[])
            self.assertIn(glance_id, str(ctx.exception))
            self.assertFalse(self.driver.instance_exists(instance))
        present = {image["Id"] for image in self.docker.images(all=True)}
        self.assertEqual(set(), present & set(image_ids))
        for glance_id in self._glance_ids:
            self.assertEqual([], self.docker.images(name="nova-glance/" + glance_id))
        self.assertEqual([], [f for f in os.listdir("/tmp") if f.startswith("hh-image-")])

    def test_not_a_tar_at_all(self):
        path = os.path.join(self.tmp, "garbage.tar")
        with open(path, "wb") as out:
            out.write(b"this is not a tarball" * 100)
        glance_id = self.add_image(path)
        instance = self.make_instance(glance_id)
        self.assertRaises(nova_exception.ImageUnacceptable, self.driver.spawn, self.context,
                          instance, self.image_meta(glance_id), [], None, {}, network_info=[])

    def test_oci_layout_with_foreign_repo_tag_boots_and_tag_is_not_kept(self):
        """Newer Docker's OCI layout loads; the tarball's own RepoTags do not leak."""
        path = os.path.join(self.tmp, "oci.tar")
        tag = "hhtest-foreign/name:%s" % uuidlib.uuid4().hex[:8]
        tarballs.write_tarball(path, self.layer, layout="oci", repo_tags=[tag])
        glance_id = self.add_image(path)
        vm = self.spawn(glance_id, [])
        self.assertEqual(power_state.RUNNING, self.driver.get_info(vm).state)
        self.assertRaises(docker.errors.NotFound, self.docker.inspect_image, tag)
        image = self.docker.inspect_image("nova-glance/%s:latest" % glance_id)
        self.assertEqual(self.tarball_image_id, image["Id"])

    def test_same_image_is_loaded_once_and_reused(self):
        glance_id = self.add_image()
        downloads = []
        real = self.images.download
        self.images.download = lambda *a: (downloads.append(a[1]), real(*a))
        self.spawn(glance_id, [])
        self.spawn(glance_id, [])
        self.assertEqual([glance_id], downloads)

    def test_snapshot_round_trip(self):
        """Snapshot commits + uploads; the snapshot boots again by its Glance ID."""
        glance_id = self.add_image()
        vm = self.spawn(glance_id, [])
        self.assertEqual(0, self.exec(vm, "touch", "/tmp/snapshot-marker")[0])
        snapshot_id = str(uuidlib.uuid4())
        self._glance_ids.append(snapshot_id)
        states = []
        self.driver.snapshot(self.context, vm, snapshot_id,
                             lambda **kw: states.append(kw["task_state"]))
        self.assertEqual([task_states.IMAGE_PENDING_UPLOAD, task_states.IMAGE_UPLOADING], states)
        uploaded = self.images.images[snapshot_id]
        self.assertEqual("docker", uploaded["container_format"])
        with tarfile.open(uploaded["path"]) as tar:
            self.assertIn("manifest.json", tar.getnames())
        self.docker.remove_image("nova-glance/%s:latest" % snapshot_id)  # force a real load
        clone = self.spawn(snapshot_id, [])
        self.assertEqual(0, self.exec(clone, "cat", "/tmp/snapshot-marker")[0])
        self.assertEqual([], self.docker.images(name="nova-snapshot/%s" % snapshot_id))


class ResourcesTest(base.DriverTestCase):

    def test_resources_equal_the_configured_share(self):
        from nova.compute import provider_tree

        resources = self.driver.get_available_resource("hhtest-docker-node")
        self.assertEqual((2, 2048, 20), (resources["vcpus"], resources["memory_mb"],
                                         resources["local_gb"]))
        self.assertEqual("docker", resources["hypervisor_type"])
        self.assertGreater(resources["hypervisor_version"], 0)
        self.assertEqual(["hhtest-docker-node"], self.driver.get_available_nodes())
        tree = provider_tree.ProviderTree()
        tree.new_root("hhtest-docker-node", str(uuidlib.uuid4()))
        self.driver.update_provider_tree(tree, "hhtest-docker-node")
        data = tree.data("hhtest-docker-node")
        self.assertEqual(2, data.inventory["VCPU"]["total"])
        self.assertEqual(2048, data.inventory["MEMORY_MB"]["total"])
        self.assertEqual(20, data.inventory["DISK_GB"]["total"])
        self.assertIn(driver_mod.TRAIT_HV_DOCKER, data.traits)

    def test_ports_bind_to_the_single_agent_host(self):
        self.assertEqual("hhtest-kvm", self.driver.network_binding_host_id(self.context, None))
        self.assertTrue(self.driver.manages_network_binding_host_id())
