"""nova 34 ComputeDriver running instances as Docker containers.

nova loads it as ``compute_driver = hybridhost_docker.DockerDriver`` through the
shim package ``nova.virt.hybridhost_docker``. The layers below it:

* :mod:`.engine` - the Docker engine, filtered to this service's labelled containers;
* :mod:`.images` - Glance ``docker save`` tarballs, by Glance ID;
* :mod:`.vifs` / :mod:`.ovs` / :mod:`hybridhost.privileged.net` - neutron ports as
  veths on the integration bridge;
* :mod:`.limits` - the security and resource envelope of a container;
* :mod:`.events` - Docker events -> nova lifecycle events;
* :mod:`.reconcile` - keeps running containers' VIFs plugged (re-plugs, with retries);
* :mod:`.diagnosis` - why a container cannot run or stopped (no command, OOM killer);
* :mod:`.guest` / :mod:`.inject` - the keypair, config drive and resolver of a container.

The driver binds container ports to the one neutron OVS agent's host
(``[hybridhost_docker] network_binding_host``) and reports exactly the Docker side's
share of the machine under its own nodename.
"""

import contextlib
import functools
import json
import logging
import os
import platform
import shlex
import threading
import time

from nova import exception as nova_exception
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova.network import model as network_model
from nova.objects import fields as obj_fields
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
from hybridhost.virt.docker import guest
from hybridhost.virt.docker import images
from hybridhost.virt.docker import inject
from hybridhost.virt.docker import limits
from hybridhost.virt.docker import ovs
from hybridhost.virt.docker import reconcile
from hybridhost.virt.docker import revive
from hybridhost.virt.docker import vifs

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
docker_conf.register_opts(CONF)

CONSOLE_LOG_MAX_BYTES = 100 * 1024
TRAIT_HV_DOCKER = "CUSTOM_HV_DOCKER"
SUPPORTED_VIF_TYPES = (network_model.VIF_TYPE_OVS,)
POWER_STATES = {
    "running": power_state.RUNNING,
    "restarting": power_state.RUNNING,
    "paused": power_state.PAUSED,
    "created": power_state.SHUTDOWN,
    "exited": power_state.SHUTDOWN,
    "removing": power_state.SHUTDOWN,
    "dead": power_state.CRASHED,
}


class OperationNotSupported(nova_exception.NovaException):
    msg_fmt = "The Docker driver does not support %(operation)s (instance %(uuid)s)."


def _uuid_of(args, kwargs):
    for value in list(args) + list(kwargs.values()):
        if hasattr(value, "uuid"):
            return value.uuid
    return "-"


def unsupported(operation, wrap=None):
    """Refuse ``operation`` before anything is done, with a clear fault."""

    def decorator(func):
        @functools.wraps(func)
        def refuse(self, *args, **kwargs):
            uuid = _uuid_of(args, kwargs)
            LOG.warning("Refusing %(op)s for instance %(uuid)s", {"op": operation, "uuid": uuid})
            error = OperationNotSupported(operation=operation, uuid=uuid)
            raise wrap(error) if wrap else error
        return refuse
    return decorator


@contextlib.contextmanager
def _as_fault(fault_class, instance):
    """Turn a hybridhost error into the nova fault ``fault_class`` (the user sees why)."""
    try:
        yield
    except exception.VifPlugFailed as err:
        LOG.error("Instance %(uuid)s: %(err)s", {"uuid": instance.uuid, "err": err})
        raise nova_exception.VirtualInterfacePlugException(str(err)) from err
    except exception.HybridhostError as err:
        LOG.error("Instance %(uuid)s: %(err)s", {"uuid": instance.uuid, "err": err})
        raise fault_class(reason=str(err)) from err


def _check_vif_types(network_info):
    """Only neutron OVS ports can be plugged; a failed binding is said so."""
    for vif in network_info or []:
        if vif.get("type") == network_model.VIF_TYPE_BINDING_FAILED:
            raise nova_exception.PortBindingFailed(port_id=vif["id"])
        if vif.get("type") not in SUPPORTED_VIF_TYPES:
            raise nova_exception.VirtualInterfacePlugException(
                "port %s has vif type %r; the Docker driver plugs only %s"
                % (vif["id"], vif.get("type"), ", ".join(SUPPORTED_VIF_TYPES)))


def _spec_of_row(port):
    """Enough of a VIF spec to unplug the OVS row ``port`` and its veth."""
    return vifs.VifSpec(port_id=port.iface_id, mac=port.mac, host_ifname=port.name,
                        ifname="eth0", bridge=port.bridge, mtu=vifs.DEFAULT_MTU,
                        addresses=(), routes=())


def _precheck_error(error):
    return nova_exception.MigrationPreCheckError(reason=error.format_message())


def _uptime_text(now=None):
    with open("/proc/uptime") as uptime, open("/proc/loadavg") as loadavg:
        seconds = int(float(uptime.read().split()[0]))
        load = loadavg.read().split()[:3]
    days, rest = divmod(seconds, 86400)
    clock = time.strftime("%H:%M:%S", time.localtime(now))
    return " %s up %d days, %d:%02d,  load average: %s" % (
        clock, days, rest // 3600, rest % 3600 // 60, ", ".join(load))


class DockerDriver(driver.ComputeDriver):
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
        self._plugged_netns = {}
        self._locks = {}
        self._locks_guard = threading.Lock()

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
        with self._locks_guard:
            return self._locks.setdefault(uuid, threading.RLock())

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
        self._reconciler = reconcile.Reconciler(
            self._running_uuids, self._repair, interval=self.conf.reconcile_interval,
            backoff_max=self.conf.reconcile_backoff_max, screen=self._looking_broken)
        self._replug_running()
        self._watcher = events.EventWatcher(
            self.engine, self.emit_event, self._reconciler.kick, on_stop=self._report_stop,
            stopped_delay=self.conf.stopped_event_delay, on_reconnect=self._revive)
        self._watcher.start()
        self._reconciler.start()
        if not CONF.pci.report_in_placement:
            allocations.read_on_first_use(report.SchedulerReportClient)

    def _replug_running(self):
        """Each instance on its own: one that cannot be re-plugged now is left to the
        reconciler's retries, never stops nova-compute-docker from starting."""
        own = self.engine.list_own()
        self._sweep_orphan_ports({info.uuid for info in own})
        for info in own:
            if info.status == "running":
                try:
                    self._ensure_plugged(info.uuid)
                except Exception as err:  # noqa: BLE001 - never fatal here: retried
                    self._reconciler.failed(info.uuid, err)

    def _sweep_orphan_ports(self, live_uuids):
        """Remove this service's OVS rows (and veths) whose container is gone: not in
        ``live_uuids`` and still absent when looked up again, so a port that a spawn
        made after the listing keeps its prepared veth."""
        plugger = self.plugger
        for port in self.ovs.list_own_ports():
            if port.vm_uuid in live_uuids:
                continue
            try:
                if port.vm_uuid and self.engine.find(port.vm_uuid):
                    continue
                LOG.info("Removing orphan port %(name)s of vanished instance %(uuid)s",
                         {"name": port.name, "uuid": port.vm_uuid})
                plugger.unplug(_spec_of_row(port))
            except Exception as err:  # noqa: BLE001 - one port never stops the start
                LOG.warning("Could not remove orphan port %(name)s: %(err)s",
                            {"name": port.name, "err": err})

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
                      lambda uuid: self._start_and_plug(uuid, self.spec_store.load(uuid)))

    def _recorded_running(self, uuids):
        """Those of ``uuids`` nova's database records running on this host."""
        from nova import context as nova_context
        from nova import objects

        return revive.recorded_running(objects.InstanceList.get_by_filters(
            nova_context.get_admin_context(),
            {"uuid": list(uuids), "host": CONF.host, "deleted": False}))

    def _report_stop(self, uuid):
        diagnosis.report_stop(self.engine.find(uuid))

    def _running_uuids(self):
        return self.engine.running_uuids()

    def _looking_broken(self, uuids):
        """Those of ``uuids`` whose saved VIFs fail the cheap check (OVS row, host end):
        a scan of every running container without entering any of them."""
        view = self.plugger.scan_view(self.conf.vif_prefix)
        return [uuid for uuid in uuids if not self._looks_intact(uuid, view)]

    def _looks_intact(self, uuid, view):
        try:
            specs = self.spec_store.load(uuid)
        except exception.VifSpecCorrupt:
            return False  # the repair says so, and plug_vifs rewrites it
        return all(self.plugger.looks_intact(spec, view) for spec in specs)

    def _repair(self, uuid):
        """Plug again each VIF of ``uuid``'s running container that is not intact. The
        namespace last plugged is checked first: no Docker call while all is well."""
        with self._lock(uuid):
            netns = self._plugged_netns.get(uuid)
            plugger = self.plugger
            if netns and all(plugger.intact(netns, spec) for spec in self.spec_store.load(uuid)):
                return False
            info = self.engine.find(uuid)
            if info is None or info.status != "running":
                return False
            return self._ensure_plugged(uuid, info)

    def _ensure_plugged(self, uuid, info=None):
        """Every saved VIF is tried; the first failure is raised after. True when any
        was plugged again."""
        with self._lock(uuid):
            info = info or self.engine.get(uuid)
            plugger, failures, plugged = self.plugger, [], False
            for spec in self.spec_store.load(uuid):
                try:
                    plugged = plugger.ensure(uuid, info.sandbox, spec) or plugged
                except Exception as err:  # noqa: BLE001 - one VIF never stops the others
                    failures.append(err)
            if failures:
                raise failures[0]
            if plugged:
                LOG.info("VIFs of instance %s plugged again", uuid)
            self._plugged_netns[uuid] = info.sandbox
            return plugged

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
            raise OperationNotSupported(operation="volumes", uuid=instance.uuid)
        image_id = self._ensure_image(context, image_meta, instance.flavor)
        self._require_command(image_meta, image_id)
        allocated = []
        try:
            with _as_fault(nova_exception.InstanceDeployFailure, instance):
                # nova allocates the network in the background and network_info blocks
                # until it is done: the image needs no network, so it is made first,
                # meanwhile; the container takes the subnets' DNS servers (guest.py).
                network_info = self._bound_to_agent_host(context, instance, network_info)
                _check_vif_types(network_info)
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
                self._start_and_plug(instance.uuid, specs)
        except nova_exception.InstanceEventTimeout as err:
            if CONF.vif_plugging_is_fatal:
                raise nova_exception.VirtualInterfaceCreateException() from err
            LOG.warning("Instance %s: no network-vif-plugged in time; going on", instance.uuid)

    def _start_and_plug(self, uuid, specs):
        """The VIFs' host halves first, so the agent's next loop can see the ports while
        Docker starts the container (spawn waits for neutron to report them up); then
        each waiting peer into the running container."""
        with self._lock(uuid):
            plugger = self.plugger
            try:
                for spec in specs:
                    plugger.prepare(uuid, spec)
                self.engine.start(uuid)
                info = self.engine.get(uuid)
                for spec in specs:
                    plugger.attach(uuid, info.sandbox, spec)
            except Exception:
                self._unplug_quietly(specs)
                raise
            self._plugged_netns[uuid] = info.sandbox

    def _unplug_quietly(self, specs):
        for spec in specs:
            try:
                self.plugger.unplug(spec)
            except exception.HybridhostError as err:
                LOG.warning("Could not remove %(host)s: %(err)s",
                            {"host": spec.host_ifname, "err": err})

    def _unplug_all(self, uuid, network_info):
        """Every VIF of ``uuid``: saved, in network_info, or an OVS row of ours naming it."""
        known = {port.name: _spec_of_row(port) for port in self.ovs.list_own_ports()
                 if port.vm_uuid == uuid}
        known.update({s.host_ifname: s for s in self.spec_store.load_or_empty(uuid)})
        known.update({s.host_ifname: s for s in self._specs(network_info)})
        plugger = self.plugger
        for spec in known.values():
            plugger.unplug(spec)

    def _teardown(self, instance, network_info, destroy_vifs=True):
        """The VIFs go first: their rows are deleted while the veths still exist, so no
        row is left pointing at a device the container's removal took away."""
        uuid = instance.uuid
        with self._lock(uuid):
            if destroy_vifs:
                self._unplug_all(uuid, network_info)
            self.engine.remove(uuid)
            self.spec_store.delete(uuid)
            self._plugged_netns.pop(uuid, None)

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
        with self._lock(instance.uuid), _as_fault(nova_exception.InstanceRebootFailure, instance):
            self._stop(instance.uuid, timeout)
            specs = self._refresh_specs(instance.uuid, network_info)
            self._start_and_plug(instance.uuid, specs)
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
        self._plugged_netns.pop(uuid, None)

    def power_off(self, instance, timeout=0, retry_interval=0):
        with self._lock(instance.uuid), _as_fault(nova_exception.InstancePowerOffFailure, instance):
            self._stop(instance.uuid, self.conf.stop_timeout if timeout else 0)

    def power_on(self, context, instance, network_info, block_device_info=None,
                 accel_info=None, share_info=None):
        _check_vif_types(network_info)
        with self._lock(instance.uuid), _as_fault(nova_exception.InstancePowerOnFailure, instance):
            if self.engine.get(instance.uuid).status in ("running", "paused"):
                return
            self._start_and_plug(instance.uuid, self._refresh_specs(instance.uuid, network_info))

    def pause(self, instance):
        self.engine.pause(instance.uuid)

    def unpause(self, instance):
        self.engine.unpause(instance.uuid)

    def resume_state_on_host_boot(self, context, instance, network_info, share_info,
                                  block_device_info=None):
        """nova-compute started and nova's database says the instance runs, Docker not
        (the box went down, the machine rebooted): run it again, with its network."""
        uuid = instance.uuid
        with self._lock(uuid), _as_fault(nova_exception.InstancePowerOnFailure, instance):
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
            _check_vif_types(network_info)
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
                self._ensure_plugged(uuid, info)
            except Exception as err:  # noqa: BLE001 - nova tolerates only the one below
                if self._reconciler is None:
                    raise nova_exception.VirtualInterfacePlugException(str(err)) from err
                self._reconciler.failed(uuid, err)

    def unplug_vifs(self, instance, network_info):
        uuid = instance.uuid
        with self._lock(uuid):
            gone = {s.port_id for s in self._specs(network_info)}
            for spec in self._specs(network_info):
                self.plugger.unplug(spec)
            kept = [s for s in self.spec_store.load(uuid) if s.port_id not in gone]
            if kept:
                self.spec_store.save(uuid, kept)
            else:
                self.spec_store.delete(uuid)

    def attach_interface(self, context, instance, image_meta, vif):
        uuid = instance.uuid
        with self._lock(uuid):
            existing = self.spec_store.load(uuid)
            if any(s.port_id == vif["id"] for s in existing):
                return
            spec = vifs.next_spec(existing, vif, self.conf.vif_prefix, self.conf.integration_bridge)
            info = self.engine.get(uuid)
            try:
                if info.status in ("running", "paused"):
                    self.plugger.plug(uuid, info.sandbox, spec)
            except exception.HybridhostError as err:
                LOG.error("Attaching port %(port)s to %(uuid)s failed: %(err)s",
                          {"port": vif["id"], "uuid": uuid, "err": err})
                raise nova_exception.InterfaceAttachFailed(instance_uuid=uuid) from err
            self.spec_store.save(uuid, existing + [spec])

    def detach_interface(self, context, instance, vif):
        uuid = instance.uuid
        with self._lock(uuid):
            existing = self.spec_store.load(uuid)
            matches = [s for s in existing if s.port_id == vif["id"]]
            try:
                for spec in matches or self._specs([vif]):
                    self.plugger.unplug(spec)
            except exception.HybridhostError as err:
                raise nova_exception.InterfaceDetachFailed(instance_uuid=uuid) from err
            self.spec_store.save(uuid, [s for s in existing if s.port_id != vif["id"]])

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
        conf = self.conf
        arch = obj_fields.Architecture.canonicalize(platform.machine())
        return {
            "vcpus": conf.vcpus, "memory_mb": conf.memory_mb, "local_gb": conf.disk_gb,
            "vcpus_used": 0, "memory_mb_used": 0, "local_gb_used": 0,
            "hypervisor_type": obj_fields.HVType.DOCKER,
            "hypervisor_version": self._hypervisor_version(),
            "hypervisor_hostname": conf.nodename,
            "cpu_info": json.dumps({"arch": arch}),
            "disk_available_least": conf.disk_gb,
            "supported_instances": [(arch, obj_fields.HVType.DOCKER, obj_fields.VMMode.EXE)],
            "numa_topology": None,
        }

    def _inventory_entry(self, total, ratio, reserved, max_unit=None):
        return {"total": total, "min_unit": 1, "max_unit": max_unit or total, "step_size": 1,
                "allocation_ratio": ratio, "reserved": reserved}

    @staticmethod
    def _vcpu_max_unit(total):
        """A container's vCPUs are a CFS limit over the machine's CPUs, not CPUs of the side's
        share: one container may ask as many as the machine has (Docker refuses more)."""
        return max(total, os.cpu_count() or 1)

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        ratios = self._get_allocation_ratios(provider_tree.data(nodename).inventory)
        conf = self.conf
        provider_tree.update_inventory(nodename, {
            orc.VCPU: self._inventory_entry(conf.vcpus, ratios[orc.VCPU], CONF.reserved_host_cpus,
                                            self._vcpu_max_unit(conf.vcpus)),
            orc.MEMORY_MB: self._inventory_entry(conf.memory_mb, ratios[orc.MEMORY_MB],
                                                 CONF.reserved_host_memory_mb),
            orc.DISK_GB: self._inventory_entry(conf.disk_gb, ratios[orc.DISK_GB],
                                               self._get_reserved_host_disk_gb_from_config()),
        })
        provider_tree.add_traits(nodename, TRAIT_HV_DOCKER)

    def get_host_ip_addr(self):
        return CONF.my_ip

    def get_host_uptime(self):
        return _uptime_text()

    # --- refused ------------------------------------------------------------------

    def rebuild(self, context, instance, image_meta, injected_files, admin_password,
                allocations, bdms, detach_block_devices, attach_block_devices,
                network_info=None, evacuate=False, block_device_info=None,
                preserve_ephemeral=False, accel_uuids=None, reimage_boot_volume=False):
        if evacuate:
            raise OperationNotSupported(operation="evacuate", uuid=instance.uuid)
        raise NotImplementedError()  # nova's default rebuild: destroy + spawn, same host

    @unsupported("live migration", wrap=_precheck_error)
    def check_can_live_migrate_destination(self, *args, **kwargs):
        pass

    @unsupported("live migration", wrap=_precheck_error)
    def check_can_live_migrate_source(self, *args, **kwargs):
        pass

    @unsupported("live migration")
    def pre_live_migration(self, *args, **kwargs):
        pass

    @unsupported("live migration")
    def live_migration(self, *args, **kwargs):
        pass

    @unsupported("resize or cold migration", wrap=nova_exception.InstanceFaultRollback)
    def migrate_disk_and_power_off(self, *args, **kwargs):
        pass

    @unsupported("resize or cold migration")
    def finish_migration(self, *args, **kwargs):
        pass

    @unsupported("rescue")
    def rescue(self, *args, **kwargs):
        pass

    @unsupported("volume attach")
    def attach_volume(self, *args, **kwargs):
        pass

    @unsupported("volume swap")
    def swap_volume(self, *args, **kwargs):
        pass
