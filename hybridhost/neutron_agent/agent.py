"""hybridhost's OVS agent: neutron's, woken by work (``loop``), wiring again the ports it
dropped (``unwired``), and gone within seconds of SIGTERM (``shutdown``)."""

import logging

from hybridhost.neutron_agent import loop
from hybridhost.neutron_agent import shutdown
from hybridhost.neutron_agent import unwired

LOG = logging.getLogger(__name__)

INTERFACE_COLUMNS = ["_uuid", "name", "external_ids", "ofport"]


class HybridhostOVSAgent(loop.EventDrivenOVSAgent):
    """The agent ``hybridhost-openvswitch-agent`` runs."""

    _unwired_watch = None
    #: neutron port IDs of dropped ports, for the next iteration to take as added.
    _rewire = frozenset()

    def daemon_loop(self):
        """neutron's loop, then the end of the process (see :func:`shutdown.exit_now`).
        A loop that fails ends it too, with status 1, for supervisord to start it again:
        neutron's would leave the process hanging without a loop."""
        try:
            super().daemon_loop()
        except Exception:
            LOG.exception("The agent's loop failed")
            shutdown.exit_now(1)
        shutdown.exit_now(0)

    def loop_count_and_wait(self, start_time, port_stats):
        self._look_for_dropped_ports()
        super().loop_count_and_wait(start_time, port_stats)

    def _agent_has_updates(self, polling_manager):
        return bool(self._rewire) or super()._agent_has_updates(polling_manager)

    def process_port_info(self, *args, **kwargs):
        """neutron's, with the dropped ports added (and so current) to its port info."""
        result = super().process_port_info(*args, **kwargs)
        if self._rewire:
            port_info = result[0]
            port_info["added"] = set(port_info.get("added", ())) | self._rewire
            port_info["current"] = set(port_info.get("current", ())) | self._rewire
            self._rewire = frozenset()
        return result

    def _look_for_dropped_ports(self):
        if self._unwired_watch is None:
            self._unwired_watch = unwired.UnwiredWatch()
        if not self._unwired_watch.due():
            return
        try:
            untagged = unwired.untagged_vifs(
                self.int_br.get_ports_attributes("Interface", columns=INTERFACE_COLUMNS,
                                                 if_exists=True),
                self.int_br.get_port_tag_dict())
        except Exception:  # noqa: BLE001 - OVS may be restarting; the next look retries
            LOG.warning("Could not look for ports left without a VLAN tag", exc_info=True)
            return
        dropped = self._unwired_watch.look(untagged)
        for port in sorted(dropped, key=lambda p: p.name):
            LOG.warning("Port %(port)s (%(name)s) has had no VLAN tag for %(seconds)d s or "
                        "more: wiring it again",
                        {"port": port.port_id, "name": port.name,
                         "seconds": self._unwired_watch.interval})
        self._rewire = self._rewire | {port.port_id for port in dropped}
