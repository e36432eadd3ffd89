"""The contract of the Docker virt driver: what every DockerDriver shows, whatever its seams.

nova's ``_VirtDriverTestCase`` pattern (nova/tests/unit/virt/test_virt_drivers.py): one
abstract test class run against several set-ups. :class:`DriverContract` holds the
behaviours; ``tests/unit/virt_docker/test_docker_driver_contract_fake.py`` runs it on
the fakes (FakeDockerClient, FakeOvsPorts, FakeNet), ``tests/functional/virt_docker/
test_docker_driver_contract_real.py`` on the real dockerd, OVS and privsep daemon.
What only one side can show (fault injection, pings) stays in that side's own tests.

A harness is a TestCase whose ``setUp`` sets

* ``driver``: a DockerDriver on its seams, ``init_host`` not called yet;
* ``context``; ``conf`` (an oslo.config fixture over nova's CONF); ``host`` (CONF.host);
* ``bridge``: [hybridhost_docker] integration_bridge, which exists;
* ``net``: the privileged net entrypoints the driver uses; ``links``: what the kernel
  shows (``host_link``, ``container_link``, see :mod:`tests.contract.net_contract`);
* ``images``: the Glance stand-in (``show``; ``images`` by Glance ID);

and that provides ``add_image(path=None, container_format="docker")`` (a bootable
image's Glance ID, removed after the test), ``make_driver()`` (another driver on the
same seams: nova-compute restarted) and ``foreign_ovs(owner)`` (the OVS seam as
another service sees the same switch).
"""

import os
import uuid as uuidlib

from nova import exception as nova_exception
from nova.compute import power_state
from nova.compute import provider_tree
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf

from hybridhost.virt.docker import driver as driver_mod
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import faults
from hybridhost.virt.docker import limits
from hybridhost.virt.docker import vifs
from tests.contract import net_contract
from tests.contract import nova_objects

TEST_LABEL = "hybridhost.test"
V4 = ("10.71.0.0/24", "10.71.0.10", "10.71.0.1")
V6_NO_GATEWAY = ("fd71::/64", "fd71::10", None)
OTHER_V4 = ("10.72.0.0/24", "10.72.0.10", "10.72.0.1")
OTHER_HOST = "hh-contract-other"


class DriverHelpers:
    """Booting and observing instances; shared by the contract's parts."""

    def glance_id(self):
        if getattr(self, "_contract_glance_id", None) is None:
            self._contract_glance_id = self.add_image()
        return self._contract_glance_id

    def boot(self, network_info=(), power_on=True, memory_mb=128, vcpus=1, glance_id=None):
        """A spawned instance, destroyed after the test."""
        glance_id = glance_id or self.glance_id()
        instance = nova_objects.instance(self.host, glance_id, memory_mb, vcpus)
        meta = nova_objects.image_meta(
            glance_id, self.images.show(self.context, glance_id)["container_format"])
        self.driver.spawn(self.context, instance, meta, [], None, {},
                          network_info=network_info, power_on=power_on)
        self.addCleanup(self.driver.destroy, self.context, instance, network_info)
        return instance

    def ports(self, *subnets_per_vif):
        return nova_objects.ports(self.bridge, *subnets_per_vif)

    def host_ifname(self, vif):
        return vifs.host_ifname(self.driver.conf.vif_prefix, vif["id"])

    def pid(self, instance):
        return self.driver.engine.get(instance.uuid).pid

    def netns(self, instance):
        """The container's network namespace: Docker's sandbox path."""
        return self.driver.engine.get(instance.uuid).sandbox

    def assertPlugged(self, instance, vif, ifname="eth0", netns=None):
        """``vif`` is ``ifname`` inside the container (namespace ``netns``) and on the bridge."""
        netns = netns or self.netns(instance)
        name = self.host_ifname(vif)
        link = self.links.container_link(netns, ifname)
        self.assertIsNotNone(link, "%s not in the container" % ifname)
        self.assertEqual((vif["address"], True), (link["mac"], link["up"]))
        self.assertTrue(self.net.veth_intact(name, netns, ifname, vif["address"]))
        port = self.driver.ovs.get_port(name)
        self.assertEqual((self.bridge, vif["id"], vif["address"], instance.uuid, self.host),
                         (port.bridge, port.iface_id, port.mac, port.vm_uuid, port.owner))
        self.assertGreater(port.ofport, 0)

    def assertUnplugged(self, vif):
        name = self.host_ifname(vif)
        self.assertIsNone(self.links.host_link(name))
        self.assertIsNone(self.driver.ovs.get_port(name))

    def state(self, instance):
        return self.driver.get_info(instance).state


class DriverLifecycleContract(DriverHelpers):
    """Spawn, power, destroy, listing, images, resources and refusals."""

    def test_spawn_gives_a_running_instance_of_this_service(self):
        instance = self.boot()
        info = self.driver.get_info(instance)
        self.assertEqual(power_state.RUNNING, info.state)
        self.assertEqual(self.driver.engine.get(instance.uuid).id, info.internal_id)
        self.assertTrue(self.driver.instance_exists(instance))
        self.assertEqual([instance.name], self.driver.list_instances())

    def test_the_container_is_labelled_and_confined(self):
        instance = self.boot(memory_mb=192)
        info = self.driver.engine.get(instance.uuid)
        self.assertEqual((instance.uuid, self.host, instance.name, self.glance_id()),
                         tuple(info.labels[label] for label in (
                             engine_mod.LABEL_UUID, engine_mod.LABEL_HOST, engine_mod.LABEL_NAME,
                             engine_mod.LABEL_GLANCE_IMAGE)))
        host_config = self.driver.engine.client.inspect_container(info.id)["HostConfig"]
        limits.check_host_config(host_config)
        self.assertFalse(host_config.get("Privileged"))
        self.assertEqual(["ALL"], host_config["CapDrop"])
        self.assertEqual(sorted(limits.check_caps(self.driver.conf.cap_add)),
                         sorted(host_config["CapAdd"]))
        self.assertIn("no-new-privileges", host_config["SecurityOpt"])
        self.assertEqual((192 * limits.MIB, 192 * limits.MIB, limits.NANO_CPUS_PER_VCPU),
                         (host_config["Memory"], host_config["MemorySwap"],
                          host_config["NanoCpus"]))
        self.assertEqual(self.driver.conf.pids_limit, host_config["PidsLimit"])
        self.assertEqual("none", host_config["NetworkMode"])
        self.assertFalse(host_config.get("Binds"))

    def test_spawn_without_power_on_creates_only(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info, power_on=False)
        self.assertEqual(power_state.SHUTDOWN, self.state(instance))
        self.assertUnplugged(network_info[0])
        self.driver.power_on(self.context, instance, network_info)
        self.assertPlugged(instance, network_info[0])

    def test_a_failed_port_binding_is_refused_and_leaves_nothing(self):
        network_info = self.ports([V4])
        network_info[0]["type"] = "binding_failed"
        self.assertRaises(nova_exception.PortBindingFailed, self.boot, network_info)
        network_info[0]["type"] = "vhostuser"
        error = net_contract.raised(nova_exception.VirtualInterfacePlugException, self.boot,
                                    network_info)
        self.assertIn("vhostuser", str(error))
        self.assertEqual([], self.driver.list_instance_uuids())
        self.assertUnplugged(network_info[0])

    def test_pause_and_unpause(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        self.driver.pause(instance)
        self.assertEqual(power_state.PAUSED, self.state(instance))
        self.driver.unpause(instance)
        self.assertEqual(power_state.RUNNING, self.state(instance))
        self.assertPlugged(instance, network_info[0])

    def test_power_off_unplugs_and_power_on_replugs_into_the_new_process(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        old_pid = self.pid(instance)
        self.driver.power_off(instance)
        self.assertEqual(power_state.SHUTDOWN, self.state(instance))
        self.assertUnplugged(network_info[0])
        self.driver.power_on(self.context, instance, network_info)
        new_pid = self.pid(instance)
        self.assertEqual(power_state.RUNNING, self.state(instance))
        self.assertNotEqual(old_pid, new_pid)
        self.assertPlugged(instance, network_info[0])
        self.driver.power_on(self.context, instance, network_info)
        self.assertEqual(new_pid, self.pid(instance))

    def test_soft_and_hard_reboot_replug_into_the_new_process(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        for reboot_type in ("SOFT", "HARD"):
            old_pid = self.pid(instance)
            self.driver.reboot(self.context, instance, network_info, reboot_type)
            self.assertNotEqual(old_pid, self.pid(instance), reboot_type)
            self.assertPlugged(instance, network_info[0])

    def test_resume_state_on_host_boot_starts_a_stopped_container(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        self.driver.engine.stop(instance.uuid, timeout=0)
        self.driver.resume_state_on_host_boot(self.context, instance, network_info, None)
        self.assertEqual(power_state.RUNNING, self.state(instance))
        self.assertPlugged(instance, network_info[0])

    def test_destroy_leaves_nothing_and_is_idempotent(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        self.driver.destroy(self.context, instance, network_info)
        self.driver.destroy(self.context, instance, network_info)
        self.driver.cleanup(self.context, instance, network_info)
        self.assertFalse(self.driver.instance_exists(instance))
        self.assertRaises(nova_exception.InstanceNotFound, self.driver.get_info, instance)
        self.assertIsNone(self.driver.engine.find(instance.uuid))
        self.assertUnplugged(network_info[0])
        self.assertEqual([], self.driver.spec_store.load(instance.uuid))
        self.assertEqual([], self.driver.list_instance_uuids())

    def test_destroy_finds_the_vifs_of_the_instance_on_the_switch(self):
        """No saved spec and no network_info: the instance's own rows still go, and only them."""
        network_info, other_info = self.ports([V4]), self.ports([OTHER_V4])
        instance, other = self.boot(network_info), self.boot(other_info)
        self.driver.spec_store.delete(instance.uuid)
        self.driver.destroy(self.context, instance, [])
        self.assertUnplugged(network_info[0])
        self.assertPlugged(other, other_info[0])

    def test_only_own_instances_are_listed_or_destroyed(self):
        mine = self.boot()
        image_id = self.driver.engine.get(mine.uuid).image_id
        other = engine_mod.Engine(self.driver.engine.client, OTHER_HOST)
        foreign = nova_objects.instance(OTHER_HOST, image_id)
        other.create(foreign.uuid, foreign.name, image_id,
                     limits.host_config_kwargs(limits.limits_for(64, 1, 64)),
                     extra_labels={TEST_LABEL: "1"})
        self.addCleanup(other.remove, foreign.uuid)
        unlabelled = self.driver.engine.client.create_container(image_id,
                                                                labels={TEST_LABEL: "1"})
        self.addCleanup(self.driver.engine.client.remove_container, unlabelled["Id"], force=True)
        self.assertEqual([mine.uuid], self.driver.list_instance_uuids())
        self.assertEqual([mine.name], self.driver.list_instances())
        self.assertFalse(self.driver.instance_exists(foreign))
        self.driver.destroy(self.context, foreign, [])
        self.assertIsNotNone(other.find(foreign.uuid))

    def test_console_output_is_the_container_log(self):
        instance = self.boot()
        net_contract.eventually(
            lambda: b"hybridhost-console-ok" in self.driver.get_console_output(
                self.context, instance), "the container's first output")

    def test_a_snapshot_is_uploaded_and_boots_by_its_glance_id(self):
        instance = self.boot()
        snapshot_id = str(uuidlib.uuid4())
        self.addCleanup(self.driver.engine.untag_image, "nova-glance/%s:latest" % snapshot_id)
        states = []
        self.driver.snapshot(self.context, instance, snapshot_id,
                             lambda **kw: states.append(kw["task_state"]))
        self.assertEqual([task_states.IMAGE_PENDING_UPLOAD, task_states.IMAGE_UPLOADING], states)
        self.assertEqual("docker", self.images.images[snapshot_id]["container_format"])
        self.assertIsNotNone(self.driver.engine.image_id("nova-glance/%s:latest" % snapshot_id))
        self.assertIsNone(self.driver.engine.image_id("nova-snapshot/%s:latest" % snapshot_id))
        clone = self.boot(glance_id=snapshot_id)
        self.assertEqual(power_state.RUNNING, self.state(clone))

    def test_shelve_then_unshelve_boots_the_snapshot_with_ports_bound_to_the_agent(self):
        """nova's shelve: power off, snapshot of the stopped container, destroy. Its
        unshelve binds the ports to this service's host, where no agent runs, and spawns
        from the snapshot: the driver binds them to the agent's host again and plugs them."""
        snapshot_id = str(uuidlib.uuid4())
        self.addCleanup(self.driver.engine.untag_image, "nova-glance/%s:latest" % snapshot_id)
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        self.assertEqual([], self.network_api.bound)
        self.driver.power_off(instance)
        self.driver.snapshot(self.context, instance, snapshot_id, lambda **kw: None)
        self.driver.destroy(self.context, instance, network_info)
        self.assertFalse(self.driver.instance_exists(instance))
        self.assertUnplugged(network_info[0])
        instance.vm_state = vm_states.SHELVED_OFFLOADED
        self.network_api.ports[instance.uuid] = network_info
        self.driver.spawn(self.context, instance, nova_objects.image_meta(snapshot_id, "docker"),
                          [], None, {}, network_info=nova_objects.binding_failed(network_info))
        self.assertEqual([(instance.uuid, self.driver.conf.network_binding_host)],
                         self.network_api.bound)
        self.assertEqual(power_state.RUNNING, self.state(instance))
        self.assertPlugged(instance, network_info[0])

    # --- resources -------------------------------------------------------------------

    def test_available_resource_is_the_configured_share(self):
        self.conf.config(group="hybridhost_docker", vcpus=3, memory_mb=3072, disk_gb=30)
        nodename = self.driver.conf.nodename
        resources = self.driver.get_available_resource(nodename)
        self.assertEqual((3, 3072, 30, 0, 0, 0), tuple(resources[key] for key in (
            "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used")))
        self.assertEqual(("docker", nodename), (resources["hypervisor_type"],
                                                resources["hypervisor_hostname"]))
        release = self.driver.engine.client.version()["Version"]
        self.assertEqual(int(release.split(".")[0]), resources["hypervisor_version"] // 10 ** 6)
        self.assertEqual([nodename], self.driver.get_available_nodes())

    def test_provider_tree_has_the_share_and_the_docker_trait(self):
        self.conf.config(group="hybridhost_docker", vcpus=3, memory_mb=3072, disk_gb=30)
        nodename = self.driver.conf.nodename
        tree = provider_tree.ProviderTree()
        tree.new_root(nodename, str(uuidlib.uuid4()))
        self.driver.update_provider_tree(tree, nodename)
        data = tree.data(nodename)
        self.assertEqual({"VCPU": 3, "MEMORY_MB": 3072, "DISK_GB": 30},
                         {rc: inventory["total"] for rc, inventory in data.inventory.items()})
        self.assertIn(driver_mod.TRAIT_HV_DOCKER, data.traits)
        self.assertEqual(max(3, os.cpu_count()), data.inventory["VCPU"]["max_unit"])
        self.assertEqual(3072, data.inventory["MEMORY_MB"]["max_unit"])

    def test_a_container_may_ask_every_cpu_of_the_machine_when_the_share_is_smaller(self):
        self.conf.config(group="hybridhost_docker", vcpus=1, memory_mb=3072, disk_gb=30)
        nodename = self.driver.conf.nodename
        tree = provider_tree.ProviderTree()
        tree.new_root(nodename, str(uuidlib.uuid4()))
        self.driver.update_provider_tree(tree, nodename)
        vcpu = tree.data(nodename).inventory["VCPU"]
        self.assertEqual((1, os.cpu_count()), (vcpu["total"], vcpu["max_unit"]))

    def test_ports_bind_to_the_single_agent_host(self):
        self.assertEqual(self.driver.conf.network_binding_host,
                         self.driver.network_binding_host_id(self.context, None))
        self.assertTrue(self.driver.manages_network_binding_host_id())
        self.assertEqual(nova.conf.CONF.my_ip, self.driver.get_host_ip_addr())
        self.assertIn("load average:", self.driver.get_host_uptime())

    # --- refused ---------------------------------------------------------------------

    def test_live_migration_is_refused_before_it_starts(self):
        instance = self.boot()
        for check in (self.driver.check_can_live_migrate_destination,
                      self.driver.check_can_live_migrate_source):
            self.assertRaises(nova_exception.MigrationPreCheckError, check, self.context,
                              instance, {}, {})
        self.assertRaises(faults.OperationNotSupported, self.driver.live_migration,
                          self.context, instance, "dest", None, None)
        self.assertEqual(power_state.RUNNING, self.state(instance))

    def test_resize_is_rolled_back_and_the_instance_keeps_running(self):
        instance = self.boot()
        self.assertRaises(nova_exception.InstanceFaultRollback,
                          self.driver.migrate_disk_and_power_off, self.context, instance, "dest",
                          None, [])
        self.assertEqual(power_state.RUNNING, self.state(instance))

    def test_rescue_evacuate_and_volumes_are_refused(self):
        instance = self.boot()
        self.assertRaises(faults.OperationNotSupported, self.driver.rescue, self.context,
                          instance, [], None, "pw", None, None)
        self.assertRaises(faults.OperationNotSupported, self.driver.attach_volume,
                          self.context, {}, instance, "/dev/vdb")
        self.assertRaises(faults.OperationNotSupported, self.driver.rebuild, self.context,
                          instance, None, [], None, {}, [], None, None, evacuate=True)
        self.assertRaises(NotImplementedError, self.driver.rebuild, self.context, instance, None,
                          [], None, {}, [], None, None)
        self.assertEqual(power_state.RUNNING, self.state(instance))


class DriverNetworkContract(DriverHelpers):
    """VIFs: plugged before start, repaired, attached; the host's start-up sweep and watch."""

    def test_vifs_are_on_the_bridge_before_the_container_starts(self):
        network_info = self.ports([V4])
        name = self.host_ifname(network_info[0])
        engine = self.driver.engine
        start, at_start = engine.start, []

        def start_recording(uuid):
            port = self.driver.ovs.get_port(name)
            at_start.append((port and port.iface_id, self.links.host_link(name) is not None))
            return start(uuid)

        engine.start = start_recording
        self.boot(network_info)
        self.assertEqual([(network_info[0]["id"], True)], at_start)

    def test_each_vif_is_plugged_into_the_container_with_its_addresses(self):
        network_info = self.ports([V4, V6_NO_GATEWAY], [OTHER_V4])
        instance = self.boot(network_info)
        netns = self.netns(instance)
        first, second = network_info
        self.assertEqual(net_contract.link_view(first["address"], 1450, True,
                                                ["10.71.0.10/24", "fd71::10/64"],
                                                [("0.0.0.0/0", "10.71.0.1")]),
                         self.links.container_link(netns, "eth0"))
        self.assertEqual(net_contract.link_view(second["address"], 1450, True,
                                                ["10.72.0.10/24"], []),
                         self.links.container_link(netns, "eth1"))  # one default route per family
        self.assertEqual(("eth0", "eth1", "lo"), self.net.container_ifnames(netns))
        self.assertPlugged(instance, first)
        self.assertPlugged(instance, second, "eth1")

    def test_plug_vifs_leaves_an_intact_vif_alone(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        index = self.links.host_link(self.host_ifname(network_info[0]))
        self.driver.plug_vifs(instance, network_info)
        self.assertEqual(index, self.links.host_link(self.host_ifname(network_info[0])))

    def test_plug_vifs_repairs_a_missing_ovs_row(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        self.driver.ovs.delete_port(self.host_ifname(network_info[0]))
        self.driver.plug_vifs(instance, network_info)
        self.assertPlugged(instance, network_info[0])

    def test_unplug_vifs_removes_the_veth_and_the_row(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        self.driver.unplug_vifs(instance, network_info)
        self.assertUnplugged(network_info[0])
        self.assertIsNone(self.links.container_link(self.netns(instance), "eth0"))
        self.assertEqual([], self.driver.spec_store.load(instance.uuid))

    def test_attach_and_detach_interface(self):
        instance = self.boot(self.ports([V4]))
        extra = self.ports([OTHER_V4])[0]
        self.driver.attach_interface(self.context, instance, None, extra)
        self.assertEqual(net_contract.link_view(extra["address"], 1450, True, ["10.72.0.10/24"],
                                                []),  # eth0 has the IPv4 default route
                         self.links.container_link(self.netns(instance), "eth1"))
        self.assertPlugged(instance, extra, "eth1")
        self.driver.detach_interface(self.context, instance, extra)
        self.assertIsNone(self.links.container_link(self.netns(instance), "eth1"))
        self.assertUnplugged(extra)
        self.assertEqual(1, len(self.driver.spec_store.load(instance.uuid)))

    # --- the host --------------------------------------------------------------------

    def orphan(self, ovs_ports):
        """A port of ``ovs_ports``' owner whose instance is gone (veth included)."""
        name, mac = self.driver.conf.vif_prefix + uuidlib.uuid4().hex[:8], nova_objects.new_mac()
        self.addCleanup(self.net.delete_veth, name)
        self.addCleanup(ovs_ports.delete_port, name)
        self.net.create_veth(name, name + "p", mac, 1500)
        ovs_ports.add_port(self.bridge, name, str(uuidlib.uuid4()), mac, str(uuidlib.uuid4()))
        return name

    def test_init_host_sweeps_only_its_own_orphan_ports(self):
        network_info = self.ports([V4])
        kept = self.boot(network_info)
        foreign = self.foreign_ovs(OTHER_HOST)
        own_orphan, foreign_orphan = self.orphan(self.driver.ovs), self.orphan(foreign)
        self.driver.init_host(self.host)
        self.addCleanup(self.driver.cleanup_host, self.host)
        self.assertIsNone(self.driver.ovs.get_port(own_orphan))
        self.assertIsNone(self.links.host_link(own_orphan))
        self.assertEqual(OTHER_HOST, foreign.get_port(foreign_orphan).owner)
        self.assertIsNotNone(self.links.host_link(foreign_orphan))
        self.assertPlugged(kept, network_info[0])

    def test_init_host_replugs_a_running_container_that_lost_its_vif(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        self.net.delete_veth(self.host_ifname(network_info[0]))
        self.driver.ovs.delete_port(self.host_ifname(network_info[0]))
        restarted = self.make_driver()
        restarted.init_host(self.host)
        self.addCleanup(restarted.cleanup_host, self.host)
        self.assertEqual(power_state.RUNNING, restarted.get_info(instance).state)
        self.assertPlugged(instance, network_info[0])

    def test_init_host_watches_the_engine(self):
        """A start outside the driver is re-plugged; lifecycle events reach nova."""
        self.conf.config(group="hybridhost_docker", stopped_event_delay=0.5)
        events = []
        self.driver.register_event_listener(events.append)
        self.driver.init_host(self.host)
        self.addCleanup(self.driver.cleanup_host, self.host)
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        name = self.host_ifname(network_info[0])
        self.driver.engine.stop(instance.uuid, timeout=0)
        net_contract.eventually(lambda: self.links.host_link(name) is None,
                                "the veth to go with the container's namespace")
        self.driver.engine.start(instance.uuid)
        netns = self.netns(instance)
        net_contract.eventually(
            lambda: self.net.veth_intact(name, netns, "eth0", network_info[0]["address"])
            and self.driver.ovs.get_port(name) is not None, "the watcher to re-plug")
        self.assertPlugged(instance, network_info[0], netns=netns)
        self.driver.pause(instance)
        self.driver.unpause(instance)
        self.driver.power_off(instance)
        net_contract.eventually(lambda: {"Started", "Paused", "Resumed", "Stopped"} <= {
            e.get_name() for e in events if e.uuid == instance.uuid}, "the lifecycle events")


class DriverContract(DriverLifecycleContract, DriverNetworkContract):
    """The whole contract: mix it into a harness (see the module docstring)."""
