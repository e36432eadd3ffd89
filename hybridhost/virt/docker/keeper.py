"""The Docker side's VIFs over a container's life: plugged around each start, checked and
plugged again when broken (the reconciler's repair), swept when their container is gone.

One re-entrant lock per instance serializes all of it with the driver's own operations
on that instance (:meth:`VifKeeper.lock`). The keeper needs no nova: the driver gives it
its side's wiring (``side``: ``engine``, ``plugger`` and ``spec_store``, which connect on
first use) and turns what goes wrong into nova's faults.
"""

import logging
import threading

from hybridhost import exception
from hybridhost.virt.docker import vifs

LOG = logging.getLogger(__name__)


def spec_of_row(port):
    """Enough of a VIF spec to unplug the OVS row ``port`` and its veth."""
    return vifs.VifSpec(port_id=port.iface_id, mac=port.mac, host_ifname=port.name,
                        ifname="eth0", bridge=port.bridge, mtu=vifs.DEFAULT_MTU,
                        addresses=(), routes=())


class VifKeeper:
    """``side``: what has ``engine``, ``plugger``, ``spec_store`` and ``ovs`` (the driver);
    ``vif_prefix``: the host ends' prefix, for the cheap scan of every host end."""

    def __init__(self, side, vif_prefix):
        self.side = side
        self.vif_prefix = vif_prefix
        # The namespace each running container's VIFs were last plugged into.
        self._plugged_netns = {}
        self._locks = {}
        self._locks_guard = threading.Lock()

    def lock(self, uuid):
        with self._locks_guard:
            return self._locks.setdefault(uuid, threading.RLock())

    def forget(self, uuid):
        """The container of ``uuid`` stopped or went: nothing of it is plugged."""
        self._plugged_netns.pop(uuid, None)

    # --- around a start ---------------------------------------------------------------

    def start_and_plug(self, uuid, specs):
        """The VIFs' host halves first, so the agent's next loop can see the ports while
        Docker starts the container (spawn waits for neutron to report them up); then
        each waiting peer into the running container."""
        with self.lock(uuid):
            plugger = self.side.plugger
            try:
                for spec in specs:
                    plugger.prepare(uuid, spec)
                self.side.engine.start(uuid)
                info = self.side.engine.get(uuid)
                for spec in specs:
                    plugger.attach(uuid, info.sandbox, spec)
            except Exception:
                self.unplug_quietly(specs)
                raise
            self._plugged_netns[uuid] = info.sandbox

    def unplug_quietly(self, specs):
        for spec in specs:
            try:
                self.side.plugger.unplug(spec)
            except exception.HybridhostError as err:
                LOG.warning("Could not remove %(host)s: %(err)s",
                            {"host": spec.host_ifname, "err": err})

    def unplug_all(self, uuid, specs):
        """Every VIF of ``uuid``: ``specs``, saved, or an OVS row of ours naming it."""
        known = {port.name: spec_of_row(port) for port in self.side.ovs.list_own_ports()
                 if port.vm_uuid == uuid}
        known.update({s.host_ifname: s for s in self.side.spec_store.load_or_empty(uuid)})
        known.update({s.host_ifname: s for s in specs})
        plugger = self.side.plugger
        for spec in known.values():
            plugger.unplug(spec)

    # --- ports added and removed ------------------------------------------------------

    def add_port(self, uuid, make_spec):
        """A port attached to ``uuid``: ``make_spec(existing_specs)`` gives its spec,
        plugged at once into a running (or paused) container, saved with the others.
        Nothing happens when a saved spec has its port already."""
        with self.lock(uuid):
            existing = self.side.spec_store.load(uuid)
            spec = make_spec(existing)
            if any(s.port_id == spec.port_id for s in existing):
                return
            info = self.side.engine.get(uuid)
            if info.status in ("running", "paused"):
                self.side.plugger.plug(uuid, info.sandbox, spec)
            self.side.spec_store.save(uuid, existing + [spec])

    def remove_port(self, uuid, port_id, fallback_specs):
        """The port ``port_id`` detached from ``uuid``: unplugged by its saved spec (or
        ``fallback_specs`` when none is saved) and forgotten."""
        with self.lock(uuid):
            existing = self.side.spec_store.load(uuid)
            matches = [s for s in existing if s.port_id == port_id]
            for spec in matches or fallback_specs:
                self.side.plugger.unplug(spec)
            self.side.spec_store.save(uuid, [s for s in existing if s.port_id != port_id])

    def remove_ports(self, uuid, specs):
        """Unplug ``specs`` of ``uuid`` and keep the others saved (none left: no file)."""
        with self.lock(uuid):
            gone = {s.port_id for s in specs}
            for spec in specs:
                self.side.plugger.unplug(spec)
            kept = [s for s in self.side.spec_store.load(uuid) if s.port_id not in gone]
            if kept:
                self.side.spec_store.save(uuid, kept)
            else:
                self.side.spec_store.delete(uuid)

    # --- when nova-compute starts -----------------------------------------------------

    def replug_running(self, failed):
        """Each running container on its own: one that cannot be re-plugged now is
        handed to ``failed(uuid, error)`` (the reconciler's retries), never stops
        nova-compute-docker from starting."""
        own = self.side.engine.list_own()
        self.sweep_orphan_ports({info.uuid for info in own})
        for info in own:
            if info.status == "running":
                try:
                    self.ensure_plugged(info.uuid)
                except Exception as err:  # noqa: BLE001 - never fatal here: retried
                    failed(info.uuid, err)

    def sweep_orphan_ports(self, live_uuids):
        """Remove this service's OVS rows (and veths) whose container is gone: not in
        ``live_uuids`` and still absent when looked up again, so a port that a spawn
        made after the listing keeps its prepared veth."""
        plugger = self.side.plugger
        for port in self.side.ovs.list_own_ports():
            if port.vm_uuid in live_uuids:
                continue
            try:
                if port.vm_uuid and self.side.engine.find(port.vm_uuid):
                    continue
                LOG.info("Removing orphan port %(name)s of vanished instance %(uuid)s",
                         {"name": port.name, "uuid": port.vm_uuid})
                plugger.unplug(spec_of_row(port))
            except Exception as err:  # noqa: BLE001 - one port never stops the start
                LOG.warning("Could not remove orphan port %(name)s: %(err)s",
                            {"name": port.name, "err": err})

    # --- the reconciler's calls -------------------------------------------------------

    def running_uuids(self):
        return self.side.engine.running_uuids()

    def looking_broken(self, uuids):
        """Those of ``uuids`` whose saved VIFs fail the cheap check (OVS row, host end):
        a scan of every running container without entering any of them."""
        view = self.side.plugger.scan_view(self.vif_prefix)
        return [uuid for uuid in uuids if not self._looks_intact(uuid, view)]

    def _looks_intact(self, uuid, view):
        try:
            specs = self.side.spec_store.load(uuid)
        except exception.VifSpecCorrupt:
            return False  # the repair says so, and plug_vifs rewrites it
        return all(self.side.plugger.looks_intact(spec, view) for spec in specs)

    def repair(self, uuid):
        """Plug again each VIF of ``uuid``'s running container that is not intact. The
        namespace last plugged is checked first: no Docker call while all is well."""
        with self.lock(uuid):
            netns = self._plugged_netns.get(uuid)
            plugger = self.side.plugger
            if netns and all(plugger.intact(netns, spec)
                             for spec in self.side.spec_store.load(uuid)):
                return False
            info = self.side.engine.find(uuid)
            if info is None or info.status != "running":
                return False
            return self.ensure_plugged(uuid, info)

    def ensure_plugged(self, uuid, info=None):
        """Every saved VIF is tried; the first failure is raised after. True when any
        was plugged again."""
        with self.lock(uuid):
            info = info or self.side.engine.get(uuid)
            plugger, failures, plugged = self.side.plugger, [], False
            for spec in self.side.spec_store.load(uuid):
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
