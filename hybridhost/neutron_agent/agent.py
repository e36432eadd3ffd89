"""hybridhost's OVS agent: neutron's, woken by work (``loop``), and gone within seconds of
SIGTERM (``shutdown``)."""

import logging

from hybridhost.neutron_agent import loop
from hybridhost.neutron_agent import shutdown

LOG = logging.getLogger(__name__)


class HybridhostOVSAgent(loop.EventDrivenOVSAgent):
    """The agent ``hybridhost-openvswitch-agent`` runs."""

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
