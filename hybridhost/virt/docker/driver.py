"""nova 34 ComputeDriver running instances as Docker containers.

nova loads it as ``compute_driver = hybridhost_docker.DockerDriver`` through the
shim package ``nova.virt.hybridhost_docker``. The layers below it:

* :mod:`.engine` - the Docker engine, filtered to this service's labelled containers;
* :mod:`.images` - Glance ``docker save`` tarballs, by Glance ID;
* :mod:`.vifs` / :mod:`.ovs` / :mod:`hybridhost.privileged.net` - neutron ports as
  veths on the integration bridge;
* :mod:`.limits` - the security and resource envelope of a container;
* :mod:`.events` - Docker events -> nova lifecycle events;
* :mod:`.keeper` - a container's VIFs over its life: plugged, repaired, swept;
* :mod:`.reconcile` - keeps running containers' VIFs plugged (re-plugs, with retries);
* :mod:`.diagnosis` - why a container cannot run or stopped (no command, OOM killer);
* :mod:`.guest` / :mod:`.inject` - the keypair, config drive and resolver of a container;
* :mod:`.faults` - hybridhost errors as nova faults, and what the driver refuses;
* :mod:`.resources` - the side's share of the machine as nova's resources and inventory.

The driver binds container ports to the one neutron OVS agent's host
(``[hybridhost_docker] network_binding_host``) and reports exactly the Docker side's
share of the machine under its own nodename.
"""

import logging
import shlex

from nova import exception as nova_exception
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova.scheduler.client import report
from nova.virt import driver
from nova.virt import hardware
import os_resource_classes as orc
from oslo_utils import versionutils

from hybridhost import exception
import hybridhost.privileged.net
from hybridhost.virt.docker import allocations
from hybridhost.virt.docker import conf as docker_conf
from hybridhost.virt.docker import diagnosis
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import events
from hybridhost.virt.docker import faults
from hybridhost.virt.docker import guest
from hybridhost.virt.docker import images
from hybridhost.virt.docker import inject
from hybridhost.virt.docker import keeper as keeper_mod
from hybridhost.virt.docker import limits
from hybridhost.virt.docker import ovs
from hybridhost.virt.docker import reconcile
from hybridhost.virt.docker import resources
from hybridhost.virt.docker import revive
from hybridhost.virt.docker import vifs

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
docker_conf.register_opts(CONF)

CONSOLE_LOG_MAX_BYTES = 100 * 1024
TRAIT_HV_DOCKER = resources.TRAIT_HV_DOCKER
POWER_STATES = {
    "running": power_state.RUNNING,
    "restarting": power_state.RUNNING,
    "paused": power_state.PAUSED,
    "created": power_state.SHUTDOWN,
    "exited": power_state.SHUTDOWN,
    "removing": power_state.SHUTDOWN,
    "dead": power_state.CRASHED,
}


class DockerDriver(faults.RefusedOperations, driver.ComputeDriver):
    """Instances as Docker containers; see the module docstring."""

    capabilities = dict(driver.ComputeDriver.capabilities,
                        supports_attach_interface=True,
                        supports_image_type_raw=True,
                        has_imagecache=True)

    def __init__(self, virtapi, engine=None, ovs_ports=None, net=None, image_service=None,
                 network_api=None):
        super().__init__(virtapi)
        self._engine = engine
        self._network_api = network_api
        self._ovs = ovs_ports
        self._net = net or hybridhost.privileged.net
        self._image_service = image_service
        self._image_store = None
        self._watcher = None
        self._reconciler = None
        self._engine_version = None
        self.keeper = keeper_mod.VifKeeper(self, self.conf.vif_prefix)

    # --- wiring -----------------------------------------------------------------

    @property
    def conf(self):
        return CONF.hybridhost_docker

    @property
    def engine(self):
        if self._engine is None:
            self._engine = engine_mod.Engine.connect(
                self.conf.docker_url, self.conf.min_api_version, CONF.host,
                log_options=docker_conf.log_options(self.conf))
        return self._engine

    @property
    def ovs(self):
        if self._ovs is None:
            self._ovs = ovs.OvsPorts(self.conf.ovsdb_connection, owner=CONF.host)
        return self._ovs

    @property
    def network_api(self):
        if self._network_api is None:
            from nova.network import neutron

            self._network_api = neutron.API()
        return self._network_api

    @property
    def plugger(self):
        return vifs.VifPlugger(self.ovs, self._net)

    @property
    def spec_store(self):
        return vifs.SpecStore(CONF.instances_path)

    @property
    def image_store(self):
        if self._image_store is None:
            service = self._image_service or images.GlanceImageService()
            self._image_store = images.ImageStore(self.engine, service)
        return self._image_store

    def _lock(self, uuid):
        return self.keeper.lock(uuid)

    def _specs(self, network_info):
        return vifs.specs_from_network_info(
            network_info, self.conf.vif_prefix, self.conf.integration_bridge)

    # --- host -------------------------------------------------------------------

    def init_host(self, host):
        version = self.engine.check(self.conf.min_api_version)
        self._engine_version = version.get("Version", "0")
        LOG.info("Docker engine %(version)s (API %(api)s) at %(url)s",
                 {"version": self._engine_version, "api": version.get("ApiVersion"),
                  "url": self.conf.docker_url})
        if not self.ovs.bridge_exists(self.conf.integration_bridge):
            LOG.warning("Integration bridge %s does not exist (yet)", self.conf.integration_bridge)
        keeper = self.keeper
        self._reconciler = reconcile.Reconciler(
            keeper.running_uuids, keeper.repair, interval=self.conf.reconcile_interval,
            backoff_max=self.conf.reconcile_backoff_max, screen=keeper.looking_broken)
        keeper.replug_running(self._reconciler.failed)
        self._watcher = events.EventWatcher(
            self.engine, self.emit_event, self._reconciler.kick, on_stop=self._report_stop,
            stopped_delay=self.conf.stopped_event_delay, on_reconnect=self._revive)
        self._watcher.start()
        self._reconciler.start()
        if not CONF.pci.report_in_placement:
            allocations.read_on_first_use(report.SchedulerReportClient)

    def cleanup_host(self, host):
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._reconciler is not None:
            self._reconciler.stop()
            self._reconciler = None

    def _revive(self):
        """The engine answers again: start what a dockerd restart stopped (:mod:`.revive`)."""
        revive.revive(self.engine, self._recorded_running,
                      lambda uuid: self.keeper.start_and_plug(uuid, self.spec_store.load(uuid)))

    def _recorded_running(self, uuids):
        """Those of ``uuids`` nova's database records running on this host."""
        from nova import context as nova_context
        from nova import objects

        return revive.recorded_running(objects.InstanceList.get_by_filters(
            nova_context.get_admin_context(),
            {"uuid": list(uuids), "host": CONF.host, "deleted": False}))

    def _report_stop(self, uuid):
        diagnosis.report_stop(self.engine.find(uuid))

    # --- inventory of guests ------------------------------------------------------

    def get_info(self, instance, use_cache=True):
        info = self.engine.find(instance.uuid)
        if info is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return hardware.InstanceInfo(state=POWER_STATES.get(info.status, power_state.NOSTATE),
                                     internal_id=info.id)

    def list_instances(self):
        return list(self.engine.own_names().values())

    def list_instance_uuids(self):
        return list(self.engine.own_names())

    def instance_exists(self, instance):
        return self.engine.find(instance.uuid) is not None

    # --- spawn / destroy ----------------------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files, admin_password,
              allocations, network_info=None, block_device_info=None, power_on=True,
              accel_info=None):
        if driver.block_device_info_get_mapping(block_device_info):
            raise faults.OperationNotSupported(operation="volumes", uuid=instance.uuid)
        image_id = self._ensure_image(context, image_meta, instance.flavor)
        self._require_command(image_meta, image_id)
        allocated = []
        try:
            with faults.as_fault(nova_exception.InstanceDeployFailure, instance):
                # nova allocates the network in the background and network_info blocks
                # until it is done: the image needs no network, so it is made first,
                # meanwhile; the container takes the subnets' DNS servers (guest.py).
                network_info = self._bound_to_agent_host(context, instance, network_info)
                faults.check_vif_types(network_info)
                allocated = network_info or []
                LOG.info("Network of instance %(uuid)s allocated: ports %(ports)s",
                         {"uuid": instance.uuid, "ports": [vif["id"] for vif in allocated]})
                self._create(instance, image_id, image_meta, allocated)
                guest.GuestFiles(self.engine).inject(instance, image_id, injected_files,
                                                     allocated)
                specs = self._specs(network_info)
                self.spec_store.save(instance.uuid, specs)
                if power_on:
                    self._start_waiting_for_vifs(instance, network_info, specs)
        except Exception:
            LOG.warning("Spawn of instance %s failed; cleaning up", instance.uuid)
            # A failed allocation re-raises on every read of network_info: not read again.
            self._teardown(instance, allocated)
            raise
        LOG.info("Instance %s spawned", instance.uuid)

    def _bound_to_agent_host(self, context, instance, network_info):
        """Unshelve binds the ports to this service's host, where no agent runs (nova's
        ``setup_instance_network_on_host``): bind them to the agent's host again and
        read them back. Any other spawn's ports are bound there already."""
        if instance.vm_state != vm_states.SHELVED_OFFLOADED:
            return network_info
        host = self.network_binding_host_id(context, instance)
        LOG.info("Unshelving instance %(uuid)s: binding its ports to %(host)s",
                 {"uuid": instance.uuid, "host": host})
        self.network_api.setup_instance_network_on_host(context, instance, host)
        return self.network_api.get_instance_nw_info(context, instance)

    def _ensure_image(self, context, image_meta, flavor):
        limit = images.size_limit(flavor.root_gb, self.conf.max_image_gb)
        try:
            return self.image_store.ensure(context, image_meta.id, image_meta.container_format,
                                           limit)
        except exception.ImageInvalid as err:
            raise nova_exception.ImageUnacceptable(
                image_id=image_meta.id, reason=err.kwargs.get("reason", err)) from err

    def _require_command(self, image_meta, image_id):
        config = self.engine.inspect_image(image_id).get("Config")
        try:
            diagnosis.require_command(image_meta.id, config,
                                      image_meta.properties.get("os_command_line"))
        except exception.ImageHasNoCommand as err:
            LOG.error("%s", err)
            raise nova_exception.ImageUnacceptable(image_id=image_meta.id, reason=err) from err

    def _create(self, instance, image_id, image_meta, network_info):
        flavor = instance.flavor
        try:
            envelope = limits.limits_for(flavor.memory_mb, flavor.vcpus, self.conf.pids_limit,
                                         self.conf.cap_add)
        except ValueError as err:
            raise exception.UnsafeContainerConfig(uuid=instance.uuid, reason=err) from None
        command = image_meta.properties.get("os_command_line")
        host_config = dict(limits.host_config_kwargs(envelope),
                           **inject.resolver_kwargs(network_info, instance.hostname))
        self.engine.create(
            instance.uuid, instance.name, image_id, host_config,
            hostname=instance.hostname or None,
            command=shlex.split(command) if command else None,
            extra_labels={engine_mod.LABEL_GLANCE_IMAGE: image_meta.id or "",
                          engine_mod.LABEL_DISPLAY_NAME: instance.display_name or ""})

    def _vif_events(self, network_info):
        if not CONF.vif_plugging_timeout:
            return []
        return [("network-vif-plugged", vif["id"]) for vif in network_info or []
                if vif.get("active", True) is False]

    def _neutron_failed(self, event_name, instance):
        LOG.error("Neutron reported failure on %(event)s for instance %(uuid)s",
                  {"event": event_name, "uuid": instance.uuid})
        if CONF.vif_plugging_is_fatal:
            raise nova_exception.VirtualInterfaceCreateException()

    def _start_waiting_for_vifs(self, instance, network_info, specs):
        try:
            with self.virtapi.wait_for_instance_event(
                    instance, self._vif_events(network_info),
                    timeout=CONF.vif_plugging_timeout, error_callback=self._neutron_failed):
                self.keeper.start_and_plug(instance.uuid, specs)
        except nova_exception.InstanceEventTimeout as err:
            if CONF.vif_plugging_is_fatal:
                raise nova_exception.VirtualInterfaceCreateException() from err
            LOG.warning("Instance %s: no network-vif-plugged in time; going on", instance.uuid)

    def _teardown(self, instance, network_info, destroy_vifs=True):
        """The VIFs go first: their rows are deleted while the veths still exist, so no
        row is left pointing at a device the container's removal took away."""
        uuid = instance.uuid
        with self._lock(uuid):
            if destroy_vifs:
                self.keeper.unplug_all(uuid, self._specs(network_info))
            self.engine.remove(uuid)
            self.spec_store.delete(uuid)
            self.keeper.forget(uuid)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        self._teardown(instance, network_info)
        LOG.info("Instance %s destroyed", instance.uuid)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        self._teardown(instance, network_info, destroy_vifs=destroy_vifs)

    # --- power --------------------------------------------------------------------

    def reboot(self, context, instance, network_info, reboot_type, block_device_info=None,
               bad_volumes_callback=None, accel_info=None, share_info=None):
        timeout = 0 if reboot_type == "HARD" else self.conf.stop_timeout
        with self._lock(instance.uuid), faults.as_fault(nova_exception.InstanceRebootFailure,
                                                        instance):
            self._stop(instance.uuid, timeout)
            specs = self._refresh_specs(instance.uuid, network_info)
            self.keeper.start_and_plug(instance.uuid, specs)
        LOG.info("Instance %(uuid)s rebooted (%(type)s)",
                 {"uuid": instance.uuid, "type": reboot_type})

    def _refresh_specs(self, uuid, network_info):
        if network_info is None:
            return self.spec_store.load(uuid)
        specs = self._specs(network_info)
        self.spec_store.save(uuid, specs)
        return specs

    def _stop(self, uuid, timeout):
        info = self.engine.get(uuid)
        if info.status == "paused":
            self.engine.unpause(uuid)
        if info.status in ("running", "paused", "restarting"):
            self.engine.stop(uuid, timeout=timeout)
        for spec in self.spec_store.load(uuid):
            self.plugger.unplug(spec)
        self.keeper.forget(uuid)

    def power_off(self, instance, timeout=0, retry_interval=0):
        with self._lock(instance.uuid), faults.as_fault(nova_exception.InstancePowerOffFailure,
                                                        instance):
            self._stop(instance.uuid, self.conf.stop_timeout if timeout else 0)

    def power_on(self, context, instance, network_info, block_device_info=None,
                 accel_info=None, share_info=None):
        faults.check_vif_types(network_info)
        uuid = instance.uuid
        with self._lock(uuid), faults.as_fault(nova_exception.InstancePowerOnFailure, instance):
            if self.engine.get(uuid).status in ("running", "paused"):
                return
            self.keeper.start_and_plug(uuid, self._refresh_specs(uuid, network_info))

    def pause(self, instance):
        self.engine.pause(instance.uuid)

    def unpause(self, instance):
        self.engine.unpause(instance.uuid)

    def resume_state_on_host_boot(self, context, instance, network_info, share_info,
                                  block_device_info=None):
        """nova-compute started and nova's database says the instance runs, Docker not
        (the box went down, the machine rebooted): run it again, with its network."""
        uuid = instance.uuid
        with self._lock(uuid), faults.as_fault(nova_exception.InstancePowerOnFailure, instance):
            if self.engine.get(uuid).status == "paused":
                self.engine.unpause(uuid)
        self.power_on(context, instance, network_info)
        self.plug_vifs(instance, network_info)
        LOG.info("Instance %s resumed after nova-compute started", uuid)

    # --- network ------------------------------------------------------------------

    def plug_vifs(self, instance, network_info):
        """(Re)plug every VIF of a running container; only remember them otherwise.

        nova calls it for each instance when nova-compute starts and tolerates only
        VirtualInterfacePlugException (the instance goes to ERROR); a VIF that cannot be
        plugged now is left to the reconciler's retries instead."""
        uuid = instance.uuid
        try:
            faults.check_vif_types(network_info)
            specs = self._specs(network_info)
        except (nova_exception.NovaException, KeyError, TypeError, ValueError) as err:
            raise nova_exception.VirtualInterfacePlugException(
                "instance %s: unusable network info: %s" % (uuid, err)) from err
        with self._lock(uuid):
            self.spec_store.save(uuid, specs)
            info = self.engine.find(uuid)
            if info is None or info.status not in ("running", "paused"):
                return
            try:
                self.keeper.ensure_plugged(uuid, info)
            except Exception as err:  # noqa: BLE001 - nova tolerates only the one below
                if self._reconciler is None:
                    raise nova_exception.VirtualInterfacePlugException(str(err)) from err
                self._reconciler.failed(uuid, err)

    def unplug_vifs(self, instance, network_info):
        self.keeper.remove_ports(instance.uuid, self._specs(network_info))

    def attach_interface(self, context, instance, image_meta, vif):
        uuid = instance.uuid
        try:
            self.keeper.add_port(uuid, lambda existing: vifs.next_spec(
                existing, vif, self.conf.vif_prefix, self.conf.integration_bridge))
        except exception.HybridhostError as err:
            LOG.error("Attaching port %(port)s to %(uuid)s failed: %(err)s",
                      {"port": vif["id"], "uuid": uuid, "err": err})
            raise nova_exception.InterfaceAttachFailed(instance_uuid=uuid) from err

    def detach_interface(self, context, instance, vif):
        uuid = instance.uuid
        try:
            self.keeper.remove_port(uuid, vif["id"], self._specs([vif]))
        except exception.HybridhostError as err:
            raise nova_exception.InterfaceDetachFailed(instance_uuid=uuid) from err

    def network_binding_host_id(self, context, instance):
        return self.conf.network_binding_host

    def manages_network_binding_host_id(self):
        return True

    # --- images and console -------------------------------------------------------

    def snapshot(self, context, instance, image_id, update_task_state):
        self.engine.get(instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        self.image_store.snapshot(context, instance.uuid, image_id, {})

    def manage_image_cache(self, context, all_instances):
        """Age out cached images as nova's ``[image_cache]`` options say (see
        :meth:`images.ImageStore.age_out`); the images of ``all_instances`` are kept."""
        if CONF.image_cache.remove_unused_base_images:
            self.image_store.age_out(CONF.image_cache.remove_unused_original_minimum_age_seconds,
                                     keep={i.image_ref for i in all_instances})

    def get_console_output(self, context, instance):
        output = self.engine.logs(instance.uuid, CONSOLE_LOG_MAX_BYTES)
        return diagnosis.console_with_note(output, self.engine.find(instance.uuid),
                                           instance.flavor.memory_mb)

    # --- resources ----------------------------------------------------------------

    def get_available_nodes(self, refresh=False):
        return [self.conf.nodename]

    def _hypervisor_version(self):
        if self._engine_version is None:
            self._engine_version = self.engine.check(self.conf.min_api_version).get("Version", "0")
        numeric = self._engine_version.split("+")[0].split("-")[0]
        return versionutils.convert_version_to_int(numeric)

    def get_available_resource(self, nodename):
        return resources.available_resource(self.conf, self._hypervisor_version())

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        reserved = {orc.VCPU: CONF.reserved_host_cpus,
                    orc.MEMORY_MB: CONF.reserved_host_memory_mb,
                    orc.DISK_GB: self._get_reserved_host_disk_gb_from_config()}
        ratios = self._get_allocation_ratios(provider_tree.data(nodename).inventory)
        provider_tree.update_inventory(nodename, resources.inventory(self.conf, ratios, reserved))
        provider_tree.add_traits(nodename, TRAIT_HV_DOCKER)

    def get_host_ip_addr(self):
        return CONF.my_ip

    def get_host_uptime(self):
        return resources.uptime_text()
