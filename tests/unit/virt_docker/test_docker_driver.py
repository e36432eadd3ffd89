"""DockerDriver against fakes at every seam (engine client, OVS, privileged net, Glance)."""

import uuid as uuidlib

from nova import exception as nova_exception
from nova.compute import power_state
from nova.compute import provider_tree
from nova.compute import task_states
from nova.virt import driver as nova_driver

from hybridhost import exception
from hybridhost.virt.docker import driver as driver_mod
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import limits
from tests.unit.virt_docker import fakes
from tests.unit.virt_docker import helpers

V4 = ("10.0.0.0/24", "10.0.0.5", "10.0.0.1")
V6_NO_GW = ("fd00::/64", "fd00::5", None)


class CapabilitiesTest(helpers.DriverUnitTestCase):

    def test_capabilities_extend_the_base_dict(self):
        """Every base key is present; only what really works is switched on."""
        caps = driver_mod.DockerDriver.capabilities
        self.assertEqual(set(nova_driver.ComputeDriver.capabilities), set(caps))
        self.assertTrue(caps["supports_attach_interface"])
        self.assertTrue(caps["supports_image_type_raw"])
        self.assertFalse(caps["supports_evacuate"])
        self.assertFalse(caps["supports_migrate_to_same_host"])


class SpawnTest(helpers.DriverUnitTestCase):

    def test_spawn_creates_a_labelled_confined_container(self):
        instance = self.spawn(self.network_info([V4]))
        info = self.engine.get(instance.uuid)
        self.assertEqual("running", info.status)
        self.assertEqual(helpers.HOST, info.labels[engine_mod.LABEL_HOST])
        self.assertEqual(instance.name, info.labels[engine_mod.LABEL_NAME])
        host_config = self.client.inspect_container(info.id)["HostConfig"]
        limits.check_host_config(host_config)
        self.assertEqual(256 * limits.MIB, host_config["Memory"])
        self.assertEqual(2 * 10 ** 9, host_config["NanoCpus"])
        self.assertEqual(1024, host_config["PidsLimit"])
        self.assertEqual(sorted(limits.DEFAULT_CAPS), sorted(host_config["CapAdd"]))

    def test_spawn_plugs_each_vif_into_the_container(self):
        net_info = self.network_info([V4, V6_NO_GW], [("10.1.0.0/24", "10.1.0.9", "10.1.0.1")])
        instance = self.spawn(net_info)
        pid = self.engine.get(instance.uuid).pid
        first, second = (("hhd" + vif["id"])[:14] for vif in net_info)
        self.assertEqual({"pid": pid, "ifname": "eth0", "mac": net_info[0]["address"], "mtu": 1450,
                          "addresses": ["10.0.0.5/24", "fd00::5/64"],
                          "routes": [["0.0.0.0/0", "10.0.0.1"]]}, self.net.veths[first])
        self.assertEqual("eth1", self.net.veths[second]["ifname"])
        self.assertEqual([], self.net.veths[second]["routes"])  # one default route per family
        port = self.ovs.get_port(first)
        self.assertEqual((net_info[0]["id"], net_info[0]["address"], instance.uuid, helpers.HOST),
                         (port.iface_id, port.mac, port.vm_uuid, port.owner))

    def test_spawn_waits_only_for_ports_that_are_down(self):
        down = self.network_info([V4], active=False)
        up = self.network_info([V4], active=True)
        instance = self.spawn(self.network_info())
        self.assertEqual([(instance.uuid, [], 30)], self.virtapi.waited)
        self.virtapi.waited.clear()
        instance = self.spawn(down + up)
        self.assertEqual([("network-vif-plugged", down[0]["id"])], self.virtapi.waited[0][1])

    def test_vif_timeout_is_fatal_and_leaves_nothing(self):
        self.virtapi.outcome = "timeout"
        net_info = self.network_info([V4])
        glance_id = self.images.add(self.tarball)
        instance = self.instance()
        self.assertRaises(nova_exception.VirtualInterfaceCreateException, self.driver.spawn,
                          self.context, instance, self.image_meta(glance_id), [], None, {},
                          network_info=net_info)
        self.assertEqual([], self.engine.list_own())
        self.assertEqual({}, self.net.veths)
        self.assertEqual({}, self.ovs.ports)

    def test_vif_timeout_not_fatal_when_configured(self):
        self.conf.config(vif_plugging_is_fatal=False)
        self.virtapi.outcome = "timeout"
        instance = self.spawn(self.network_info([V4]))
        self.assertEqual(power_state.RUNNING, self.driver.get_info(instance).state)

    def test_neutron_failure_event_is_fatal(self):
        self.virtapi.outcome = "failed"
        self.assertRaises(nova_exception.VirtualInterfaceCreateException, self.spawn,
                          self.network_info([V4]))
        self.assertEqual([], self.engine.list_own())

    def test_ovs_failure_rolls_back_the_veth_and_the_container(self):
        self.ovs.fail_next_add = exception.OvsdbOperationFailed(
            operation="add port", target="x", reason="boom")
        error = self.assertRaises(nova_exception.VirtualInterfacePlugException, self.spawn,
                                  self.network_info([V4]))
        self.assertIn("OVSDB refused to add port", str(error))
        self.assertEqual({}, self.net.veths)
        self.assertEqual([], self.engine.list_own())

    def test_a_failed_port_binding_is_said_so_and_leaves_no_container(self):
        net_info = self.network_info([V4])
        net_info[0]["type"] = "binding_failed"
        self.assertRaises(nova_exception.PortBindingFailed, self.spawn, net_info)
        net_info[0]["type"] = "vhostuser"
        error = self.assertRaises(nova_exception.VirtualInterfacePlugException, self.spawn, net_info)
        self.assertIn("vhostuser", str(error))
        self.assertEqual(([], {}), (self.engine.list_own(), self.net.veths))

    def test_the_container_is_created_while_nova_still_allocates_the_network(self):
        """network_info is read only after docker create (nova's async wrapper blocks)."""
        created_before_read = []
        net_info = self.network_info([V4])
        engine = self.engine

        class AsyncNetworkInfo(list):
            """Like nova's NetworkInfoAsyncWrapper: every read waits (here: records)."""

            def _wait(self):
                created_before_read.append(len(engine.list_own()))

            def __len__(self):
                self._wait()
                return super().__len__()

            def __iter__(self):
                self._wait()
                return super().__iter__()

        instance = self.instance()
        self.driver.spawn(self.context, instance, self.image_meta(self.images.add(self.tarball)),
                          [], None, {}, network_info=AsyncNetworkInfo(net_info))
        self.assertEqual(1, created_before_read[0])
        self.assertEqual(power_state.RUNNING, self.driver.get_info(instance).state)

    def test_a_failed_network_allocation_removes_the_container_and_reraises_once(self):
        reads = []

        class FailedAllocation(list):
            """nova's wrapper re-raises the allocation's error on every read."""

            def _wait(self):
                reads.append(1)
                raise nova_exception.PortLimitExceeded()

            __len__ = __iter__ = _wait

        self.assertRaises(nova_exception.PortLimitExceeded, self.driver.spawn, self.context,
                          self.instance(), self.image_meta(self.images.add(self.tarball)), [],
                          None, {}, network_info=FailedAllocation())
        self.assertEqual(([], [1]), (self.engine.list_own(), reads))

    def test_a_flavor_too_small_for_a_container_is_a_deploy_fault(self):
        glance_id = self.images.add(self.tarball)
        instance = self.instance(memory_mb=4)
        error = self.assertRaises(nova_exception.InstanceDeployFailure, self.driver.spawn,
                                  self.context, instance, self.image_meta(glance_id), [], None, {})
        self.assertIn("flavor too small", str(error))

    def test_engine_errors_become_deploy_faults_with_the_reason(self):
        self.client.create_container = _refuse_create
        error = self.assertRaises(nova_exception.InstanceDeployFailure, self.spawn)
        self.assertIn("no space left on device", str(error))

    def test_wrong_container_format_is_an_image_fault(self):
        glance_id = self.images.add(self.tarball, container_format="bare")
        error = self.assertRaises(nova_exception.ImageUnacceptable, self.spawn, glance_id=glance_id)
        self.assertIn("container_format", str(error))
        self.assertEqual([], self.engine.list_own())

    def test_volumes_are_refused_before_anything_happens(self):
        instance = self.instance()
        glance_id = self.images.add(self.tarball)
        bdi = {"block_device_mapping": [{"mount_device": "/dev/vdb"}]}
        self.assertRaises(driver_mod.OperationNotSupported, self.driver.spawn, self.context,
                          instance, self.image_meta(glance_id), [], None, {}, [], bdi)
        self.assertEqual([], self.images.downloads)

    def test_os_command_line_overrides_the_image_command(self):
        instance = self.spawn(os_command_line="/bin/sh -c 'sleep 99'")
        data = self.client.inspect_container(self.engine.get(instance.uuid).id)
        self.assertEqual(["/bin/sh", "-c", "sleep 99"], data["Config"]["Cmd"])

    def test_spawn_without_power_on_creates_only(self):
        instance = self.instance()
        glance_id = self.images.add(self.tarball)
        self.driver.spawn(self.context, instance, self.image_meta(glance_id), [], None, {},
                          self.network_info([V4]), power_on=False)
        self.assertEqual(power_state.SHUTDOWN, self.driver.get_info(instance).state)
        self.assertEqual({}, self.net.veths)

    def assertRaises(self, exc, func, *args, **kwargs):
        try:
            func(*args, **kwargs)
        except exc as error:
            return error
        self.fail("%s not raised" % exc.__name__)


class LifecycleTest(helpers.DriverUnitTestCase):

    def test_get_info_maps_docker_states(self):
        instance = self.spawn()
        self.assertEqual(power_state.RUNNING, self.driver.get_info(instance).state)
        self.driver.pause(instance)
        self.assertEqual(power_state.PAUSED, self.driver.get_info(instance).state)
        self.driver.unpause(instance)
        self.driver.power_off(instance)
        self.assertEqual(power_state.SHUTDOWN, self.driver.get_info(instance).state)
        self.assertEqual(power_state.CRASHED, driver_mod.POWER_STATES["dead"])

    def test_missing_container_is_instance_not_found(self):
        self.assertRaises(nova_exception.InstanceNotFound, self.driver.get_info, self.instance())

    def test_only_own_containers_are_listed(self):
        mine = self.spawn()
        other = engine_mod.Engine(self.client, "someone-else")
        foreign = str(uuidlib.uuid4())
        other.create(foreign, "instance-f", self.client.add_image(),
                     limits.host_config_kwargs(limits.limits_for(64, 1, 64)))
        self.client.create_container(self.client.add_image(), name="unlabelled")
        self.assertEqual([mine.uuid], self.driver.list_instance_uuids())
        self.assertEqual([mine.name], self.driver.list_instances())
        self.assertTrue(self.driver.instance_exists(mine))
        self.driver.destroy(self.context, self.instance_with_uuid(foreign), [])
        self.assertIsNotNone(other.find(foreign))

    def instance_with_uuid(self, uuid):
        instance = self.instance()
        instance.uuid = uuid
        return instance

    def test_destroy_removes_everything_and_is_idempotent(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        self.driver.destroy(self.context, instance, net_info)
        self.driver.destroy(self.context, instance, net_info)
        self.driver.cleanup(self.context, instance, net_info)
        self.assertFalse(self.driver.instance_exists(instance))
        self.assertEqual({}, self.net.veths)
        self.assertEqual({}, self.ovs.ports)
        self.assertEqual([], self.driver.spec_store.load(instance.uuid))

    def test_ports_are_on_the_bridge_before_the_container_starts(self):
        """The agent can notice a port while Docker is still starting the container."""
        on_bridge_at_start = []
        real_start = self.client.start

        def start(container):
            on_bridge_at_start.append(sorted(self.ovs.ports))
            return real_start(container)

        self.client.start = start
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        host = ("hhd" + net_info[0]["id"])[:14]
        self.assertEqual([[host]], on_bridge_at_start)
        pid = self.engine.get(instance.uuid).pid
        self.assertEqual([("create", host), ("move", host, pid)], self.net.calls)

    def test_a_failed_power_on_leaves_no_port_behind(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        self.driver.power_off(instance, timeout=10)
        self.client.start = _refuse_start
        self.assertRaises(nova_exception.InstancePowerOnFailure, self.driver.power_on,
                          self.context, instance, net_info)
        self.assertEqual(({}, {}), (self.net.veths, self.ovs.ports))

    def test_power_off_unplugs_and_power_on_replugs_into_the_new_process(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        old_pid = self.engine.get(instance.uuid).pid
        self.driver.power_off(instance, timeout=10)
        self.assertEqual({}, self.ovs.ports)
        self.driver.power_on(self.context, instance, net_info)
        new_pid = self.engine.get(instance.uuid).pid
        self.assertNotEqual(old_pid, new_pid)
        self.assertEqual(new_pid, self.net.veths[("hhd" + net_info[0]["id"])[:14]]["pid"])

    def test_reboot_replugs(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        for reboot_type in ("SOFT", "HARD"):
            old_pid = self.engine.get(instance.uuid).pid
            self.driver.reboot(self.context, instance, net_info, reboot_type)
            new_pid = self.engine.get(instance.uuid).pid
            self.assertNotEqual(old_pid, new_pid)
            self.assertEqual(new_pid, self.net.veths[("hhd" + net_info[0]["id"])[:14]]["pid"])

    def test_resume_state_on_host_boot_starts_a_stopped_container(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        self.client.stop(self.engine.get(instance.uuid).id)
        self.driver.resume_state_on_host_boot(self.context, instance, net_info, None)
        self.assertEqual(power_state.RUNNING, self.driver.get_info(instance).state)
        self.assertEqual(1, len(self.ovs.ports))

    def test_console_output_is_capped_at_100_kib(self):
        instance = self.spawn()
        self.client.logs_by_id[self.engine.get(instance.uuid).id] = b"x" * 200000 + b"END"
        output = self.driver.get_console_output(self.context, instance)
        self.assertEqual(100 * 1024, len(output))
        self.assertTrue(output.endswith(b"END"))

    def test_snapshot_uploads_and_the_snapshot_boots_by_id(self):
        instance = self.spawn()
        snapshot_id = str(uuidlib.uuid4())
        states = []
        self.driver.snapshot(self.context, instance, snapshot_id,
                             lambda **kw: states.append(kw["task_state"]))
        self.assertEqual([task_states.IMAGE_PENDING_UPLOAD, task_states.IMAGE_UPLOADING], states)
        self.assertEqual("docker", self.images.images[snapshot_id]["container_format"])
        self.assertIsNotNone(self.engine.image_id("nova-glance/%s:latest" % snapshot_id))
        self.assertIsNone(self.engine.image_id("nova-snapshot/%s:latest" % snapshot_id))
        clone = self.spawn(glance_id=snapshot_id)
        self.assertEqual(power_state.RUNNING, self.driver.get_info(clone).state)
        self.assertNotIn(snapshot_id, self.images.downloads)  # reused, not downloaded


class NetworkTest(helpers.DriverUnitTestCase):

    def test_plug_vifs_leaves_intact_ports_alone(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        calls = len(self.net.calls)
        self.driver.plug_vifs(instance, net_info)
        self.assertEqual(calls, len(self.net.calls))

    def test_plug_vifs_repairs_a_missing_ovs_row(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        self.ovs.ports.clear()
        self.driver.plug_vifs(instance, net_info)
        self.assertEqual(1, len(self.ovs.ports))

    def test_unplug_vifs(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        self.driver.unplug_vifs(instance, net_info)
        self.assertEqual(({}, {}), (self.net.veths, self.ovs.ports))

    def test_init_host_replugs_running_containers_and_watches_events(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        self.net.veths.clear()
        self.ovs.ports.clear()
        events = []
        self.driver.register_event_listener(events.append)
        self.driver.init_host(helpers.HOST)
        self.addCleanup(self.driver.cleanup_host, helpers.HOST)
        self.assertEqual(1, len(self.net.veths))
        container = self.engine.get(instance.uuid).id
        self.client.stop(container)
        self.client.start(container)  # a restart the driver did not cause
        new_pid = self.engine.get(instance.uuid).pid
        self.assertTrue(_wait(lambda: list(self.net.veths.values())[0]["pid"] == new_pid))
        self.assertTrue(_wait(lambda: {"Stopped", "Started"} <= {e.get_name() for e in events}))

    def test_init_host_sweeps_own_orphan_ports_only(self):
        kept = self.spawn(self.network_info([V4]))
        self.ovs.add_port("br-int", "hhdorphan00000", "p-1", "fa:16:3e:00:00:09", "gone-uuid")
        self.net.veths["hhdorphan00000"] = {"pid": 7}
        foreign = fakes.FakeOvsPorts("box-kvm")
        foreign.add_port("br-int", "tapforeign0000", "p-2", "fa:16:3e:00:00:0a", "gone-uuid")
        self.ovs.ports.update(foreign.ports)
        self.driver.init_host(helpers.HOST)
        self.addCleanup(self.driver.cleanup_host, helpers.HOST)
        self.assertNotIn("hhdorphan00000", self.ovs.ports)
        self.assertNotIn("hhdorphan00000", self.net.veths)
        self.assertIn("tapforeign0000", self.ovs.ports)
        self.assertEqual(kept.uuid, self.ovs.get_port(
            ("hhd" + self.driver.spec_store.load(kept.uuid)[0].port_id)[:14]).vm_uuid)

    def test_unsafe_host_config_never_reaches_the_engine(self):
        unsafe = dict(limits.host_config_kwargs(limits.limits_for(64, 1, 10)), privileged=True)
        self.assertRaises(exception.UnsafeContainerConfig, self.engine.create, "u", "n",
                          self.client.add_image(), unsafe)
        mount = dict(limits.host_config_kwargs(limits.limits_for(64, 1, 10)),
                     binds=["/var/run/docker.sock:/var/run/docker.sock"])
        self.assertRaises(exception.UnsafeContainerConfig, self.engine.create, "u", "n",
                          self.client.add_image(), mount)
        self.assertEqual([], engine_mod.Engine(self.client, helpers.HOST).list_own())
        self.assertEqual({}, self.client.containers_by_id)

    def test_init_host_refuses_an_old_engine(self):
        self.client.api_version = "1.30"
        self.assertRaises(exception.DockerUnavailable, self.driver.init_host, helpers.HOST)

    def test_attach_and_detach_interface(self):
        instance = self.spawn(self.network_info([V4]))
        extra = self.network_info([("10.2.0.0/24", "10.2.0.4", "10.2.0.1")])[0]
        self.driver.attach_interface(self.context, instance, None, extra)
        veth = self.net.veths[("hhd" + extra["id"])[:14]]
        self.assertEqual("eth1", veth["ifname"])
        self.assertEqual([], veth["routes"])  # eth0 already has the IPv4 default route
        self.driver.detach_interface(self.context, instance, extra)
        self.assertNotIn(("hhd" + extra["id"])[:14], self.net.veths)
        self.assertEqual(1, len(self.driver.spec_store.load(instance.uuid)))

    def test_attach_failure_is_interface_attach_failed(self):
        instance = self.spawn(self.network_info([V4]))
        self.ovs.fail_next_add = exception.OvsdbOperationFailed(operation="a", target="b", reason="c")
        extra = self.network_info([V4])[0]
        self.assertRaises(nova_exception.InterfaceAttachFailed, self.driver.attach_interface,
                          self.context, instance, None, extra)
        self.assertEqual(1, len(self.driver.spec_store.load(instance.uuid)))

    def test_ports_bind_to_the_single_agent_host(self):
        self.assertEqual("box-kvm", self.driver.network_binding_host_id(self.context, self.instance()))
        self.assertTrue(self.driver.manages_network_binding_host_id())


class ResourcesTest(helpers.DriverUnitTestCase):

    def test_available_resource_is_the_configured_share(self):
        resources = self.driver.get_available_resource("box-docker-node")
        self.assertEqual((3, 3072, 30), (resources["vcpus"], resources["memory_mb"],
                                         resources["local_gb"]))
        self.assertEqual("box-docker-node", resources["hypervisor_hostname"])
        self.assertEqual(20010024, resources["hypervisor_version"])
        self.assertEqual(["box-docker-node"], self.driver.get_available_nodes())

    def test_provider_tree_has_the_share_and_the_trait(self):
        tree = provider_tree.ProviderTree()
        tree.new_root("box-docker-node", str(uuidlib.uuid4()))
        self.driver.update_provider_tree(tree, "box-docker-node")
        data = tree.data("box-docker-node")
        self.assertEqual({"VCPU": 3, "MEMORY_MB": 3072, "DISK_GB": 30},
                         {rc: inv["total"] for rc, inv in data.inventory.items()})
        self.assertIn("CUSTOM_HV_DOCKER", data.traits)

    def test_host_ip_and_uptime(self):
        self.assertEqual("192.0.2.7", self.driver.get_host_ip_addr())
        self.assertIn("load average:", self.driver.get_host_uptime())


class RefusedTest(helpers.DriverUnitTestCase):

    def test_live_migration_checks_refuse_with_a_precheck_error(self):
        instance = self.spawn()
        for method in (self.driver.check_can_live_migrate_destination,
                       self.driver.check_can_live_migrate_source):
            self.assertRaises(nova_exception.MigrationPreCheckError, method, self.context, instance,
                              {}, {})
        self.assertRaises(driver_mod.OperationNotSupported, self.driver.live_migration,
                          self.context, instance, "dest", None, None)

    def test_resize_is_rolled_back(self):
        instance = self.spawn()
        self.assertRaises(nova_exception.InstanceFaultRollback,
                          self.driver.migrate_disk_and_power_off, self.context, instance, "dest",
                          None, [])
        self.assertEqual(power_state.RUNNING, self.driver.get_info(instance).state)

    def test_rescue_evacuate_and_volume_attach_are_refused(self):
        instance = self.spawn()
        self.assertRaises(driver_mod.OperationNotSupported, self.driver.rescue, self.context,
                          instance, [], None, "pw", None, None)
        self.assertRaises(driver_mod.OperationNotSupported, self.driver.attach_volume,
                          self.context, {}, instance, "/dev/vdb")
        self.assertRaises(driver_mod.OperationNotSupported, self.driver.rebuild, self.context,
                          instance, None, [], None, {}, [], None, None, evacuate=True)
        self.assertRaises(NotImplementedError, self.driver.rebuild, self.context, instance, None,
                          [], None, {}, [], None, None)
        self.assertEqual(power_state.RUNNING, self.driver.get_info(instance).state)


def _refuse_create(*args, **kwargs):
    from docker import errors as docker_errors

    raise docker_errors.APIError("500 Server Error", explanation="no space left on device")


def _wait(predicate, timeout=5.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _refuse_start(*args, **kwargs):
    from docker import errors as docker_errors

    raise docker_errors.APIError("500 Server Error", explanation="cannot start: no cgroup")
