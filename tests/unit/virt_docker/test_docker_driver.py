"""DockerDriver against fakes at every seam (engine client, OVS, privileged net, Glance)."""

import uuid as uuidlib

from nova import exception as nova_exception
from nova.compute import power_state
from nova.virt import driver as nova_driver

from hybridhost import exception
from hybridhost.virt.docker import driver as driver_mod
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import faults
from hybridhost.virt.docker import limits
from tests.unit.virt_docker import helpers

V4 = ("10.0.0.0/24", "10.0.0.5", "10.0.0.1")
V6_NO_GW = ("fd00::/64", "fd00::5", None)


class CapabilitiesTest(helpers.DriverUnitTestCase):
    """What the driver declares; the behaviours are in tests/contract/driver_contract.py."""

    def test_capabilities_extend_the_base_dict(self):
        """Every base key is present; only what really works is switched on."""
        caps = driver_mod.DockerDriver.capabilities
        self.assertEqual(set(nova_driver.ComputeDriver.capabilities), set(caps))
        self.assertTrue(caps["supports_attach_interface"])
        self.assertTrue(caps["supports_image_type_raw"])
        self.assertFalse(caps["supports_evacuate"])
        self.assertFalse(caps["supports_migrate_to_same_host"])

    def test_a_dead_container_is_a_crashed_instance(self):
        self.assertEqual(power_state.CRASHED, driver_mod.POWER_STATES["dead"])

    def test_hypervisor_version_is_the_engines_release(self):
        """The fake engine reports 20.10.24."""
        self.assertEqual(20010024, self.driver.get_available_resource("n")["hypervisor_version"])


class SpawnTest(helpers.DriverUnitTestCase):

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

    def test_the_image_is_loaded_while_nova_still_allocates_the_network(self):
        """network_info is read after the image is on the engine (nova's async wrapper
        blocks) and before docker create, which takes the subnets' DNS servers."""
        at_first_read = []
        net_info = self.network_info([V4])
        engine, glance_id = self.engine, self.images.add(self.tarball)

        class AsyncNetworkInfo(list):
            """Like nova's NetworkInfoAsyncWrapper: every read waits (here: records)."""

            def _wait(self):
                at_first_read.append((engine.image_id("nova-glance/%s:latest" % glance_id)
                                      is not None, len(engine.list_own())))

            def __len__(self):
                self._wait()
                return super().__len__()

            def __iter__(self):
                self._wait()
                return super().__iter__()

        instance = self.instance()
        self.driver.spawn(self.context, instance, self.image_meta(glance_id),
                          [], None, {}, network_info=AsyncNetworkInfo(net_info))
        self.assertEqual((True, 0), at_first_read[0])
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
        self.assertRaises(faults.OperationNotSupported, self.driver.spawn, self.context,
                          instance, self.image_meta(glance_id), [], None, {}, [], bdi)
        self.assertEqual([], self.images.downloads)

    def test_os_command_line_overrides_the_image_command(self):
        instance = self.spawn(os_command_line="/bin/sh -c 'sleep 99'")
        data = self.client.inspect_container(self.engine.get(instance.uuid).id)
        self.assertEqual(["/bin/sh", "-c", "sleep 99"], data["Config"]["Cmd"])

    def assertRaises(self, exc, func, *args, **kwargs):
        try:
            func(*args, **kwargs)
        except exc as error:
            return error
        self.fail("%s not raised" % exc.__name__)


class LifecycleTest(helpers.DriverUnitTestCase):

    def test_a_failed_power_on_leaves_no_port_behind(self):
        net_info = self.network_info([V4])
        instance = self.spawn(net_info)
        self.driver.power_off(instance, timeout=10)
        self.client.start = _refuse_start
        self.assertRaises(nova_exception.InstancePowerOnFailure, self.driver.power_on,
                          self.context, instance, net_info)
        self.assertEqual(({}, {}), (self.net.veths, self.ovs.ports))

    def test_console_output_is_capped_at_100_kib(self):
        instance = self.spawn()
        self.client.logs_by_id[self.engine.get(instance.uuid).id] = b"x" * 200000 + b"END"
        output = self.driver.get_console_output(self.context, instance)
        self.assertEqual(100 * 1024, len(output))
        self.assertTrue(output.endswith(b"END"))

    def test_a_snapshot_boots_from_the_engine_without_a_download(self):
        """The snapshot's image stays tagged by its Glance ID, so booting it loads nothing."""
        instance = self.spawn()
        snapshot_id = str(uuidlib.uuid4())
        self.driver.snapshot(self.context, instance, snapshot_id, lambda **kw: None)
        clone = self.spawn(glance_id=snapshot_id)
        self.assertEqual(power_state.RUNNING, self.driver.get_info(clone).state)
        self.assertNotIn(snapshot_id, self.images.downloads)


class NetworkTest(helpers.DriverUnitTestCase):

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

    def test_the_start_up_sweep_spares_a_port_whose_container_came_after_its_listing(self):
        """init_host lists the containers, then the rows: a container created in between
        (its port already prepared) is no orphan."""
        kept = self.spawn(self.network_info([V4]))
        gone = self.spawn(self.network_info([V4]))
        self.client.remove_container(self.engine.get(gone.uuid).id, force=True)
        self.driver.keeper.sweep_orphan_ports(live_uuids=set())  # the listing missed both
        self.assertEqual({kept.uuid}, {port.vm_uuid for port in self.ovs.list_own_ports()})
        self.assertEqual(1, len(self.net.veths))

    def test_init_host_refuses_an_old_engine(self):
        self.client.api_version = "1.30"
        self.assertRaises(exception.DockerUnavailable, self.driver.init_host, helpers.HOST)

    def test_attach_failure_is_interface_attach_failed(self):
        instance = self.spawn(self.network_info([V4]))
        self.ovs.fail_next_add = exception.OvsdbOperationFailed(operation="a", target="b",
                                                                 reason="c")
        extra = self.network_info([V4])[0]
        self.assertRaises(nova_exception.InterfaceAttachFailed, self.driver.attach_interface,
                          self.context, instance, None, extra)
        self.assertEqual(1, len(self.driver.spec_store.load(instance.uuid)))

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
