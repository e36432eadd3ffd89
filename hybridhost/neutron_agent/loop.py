"""neutron's Open vSwitch agent, woken by its own OVSDB monitor instead of sleeping out
every loop.

neutron's ``rpc_loop`` sleeps whatever is left of ``[agent] polling_interval`` (an
integer, at least 1 s) after each iteration, even when its OVSDB monitor has already
reported a new port: a port plugged just after an iteration waits up to a whole second
to be wired (half a second on average, a fifth of one container boot on this box).
This agent waits in short slices instead and ends the wait as soon as work comes in: an
Interface change from the monitor, a port update or deletion from the server, or a
firewall refresh. With nothing to do it still iterates once per polling_interval, as
neutron's does; so it does when work was already waiting as the iteration ended (an
iteration that failed leaves its ports waiting, and must not be repeated at once); under
load, when an iteration outlasts the interval, nothing changes.
"""

import logging
import time

from neutron.plugins.ml2.drivers.openvswitch.agent import ovs_neutron_agent

LOG = logging.getLogger(__name__)

#: How often the wait looks for work: the most it adds to a port's wait (on average half).
#: Each look reads the monitor's queued output only; idle, it costs ~1% of one core.
WAKE_CHECK_S = 0.05


class EventDrivenOVSAgent(ovs_neutron_agent.OVSNeutronAgent):
    """``OVSNeutronAgent`` whose loop ends its wait when there is work."""

    _polling_manager = None

    def rpc_loop(self, polling_manager):
        self._polling_manager = polling_manager
        return super().rpc_loop(polling_manager)

    def loop_count_and_wait(self, start_time, port_stats):
        """Upstream's log line and iteration count; the wait ends early on work."""
        elapsed = time.time() - start_time
        LOG.info("Agent rpc_loop - iteration:%(iter_num)d completed. Processed ports "
                 "statistics: %(port_stats)s. Elapsed:%(elapsed).3f",
                 {"iter_num": self.iter_num, "port_stats": port_stats,
                  "elapsed": elapsed})
        self._wait_for_work(start_time + self.polling_interval)
        self.iter_num = self.iter_num + 1

    def _wait_for_work(self, deadline):
        time.sleep(0)  # always yield: the RPC and monitor threads run meanwhile
        if self._has_work():
            # Work the iteration left undone (OVS is down, an error put the ports back,
            # or it came in during the iteration): wait as neutron does, or an iteration
            # that fails would repeat without a pause.
            _sleep_until(deadline)
            return
        while True:
            left = deadline - time.time()
            if left <= 0 or self._has_work():
                return
            time.sleep(min(WAKE_CHECK_S, left))

    def _has_work(self):
        polling_manager = self._polling_manager
        if polling_manager is None or not _monitor_active(polling_manager):
            # No monitor to ask (or it is being respawned; asking would log an error
            # each time): sleep out the interval, as upstream does.
            return False
        return bool(self._agent_has_updates(polling_manager))


def _sleep_until(deadline):
    left = deadline - time.time()
    if left > 0:
        time.sleep(left)


def _monitor_active(polling_manager):
    # InterfacePollingMinimizer keeps its SimpleInterfaceMonitor as _monitor; the
    # AlwaysPoll manager (minimize_polling = False) has none and always needs polling.
    monitor = getattr(polling_manager, "_monitor", None)
    return monitor is not None and monitor.is_active()
