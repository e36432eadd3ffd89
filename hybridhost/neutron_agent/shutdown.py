"""The agent's way out on SIGTERM: seconds, not supervisord's stop timeout.

Its main thread waits in os-ken's ``joinall`` for the app threads, in ``join()`` without
a timeout. Python runs signal handlers only in the main thread, when it wakes: a SIGTERM
the kernel delivered to another thread was never handled, and the agent was killed at
the stop timeout (1 stop in 5 here). :func:`joinall_waking` wakes it twice a second.

When its loop ends, neutron's agent stops the RPC servers of its resource cache, one per
resource type it watches, one after the other; oslo.messaging's listener stops only once
its current wait for a message is over (up to 5 s). That came to about 30 s on this box,
so supervisord killed the agent at ``[supervisor] stop_timeout`` on every 'down' and
every restart of it.
"""

import logging
import os
import threading

from neutron.plugins.ml2.drivers.openvswitch.agent import ovs_neutron_agent

LOG = logging.getLogger(__name__)

#: How often the main thread wakes to run signal handlers while it waits for os-ken.
SIGNAL_CHECK_S = 0.5
#: How long the exiting agent waits for its resource cache's RPC servers to stop.
RPC_STOP_WAIT_S = 2.0


def joinall_waking(threads):
    """os-ken's native ``joinall``, waking every :data:`SIGNAL_CHECK_S`."""
    for thread in threads:
        while thread.is_alive():
            thread.join(SIGNAL_CHECK_S)


class QuickStopPluginApi(ovs_neutron_agent.OVSPluginApi):
    """neutron's plugin API, whose ``stop`` waits at most :data:`RPC_STOP_WAIT_S`."""

    def stop(self):
        # What is cut short is the listeners' wait for messages: the cache they fill
        # goes with the process, and RabbitMQ requeues what was not acknowledged when
        # the connection closes.
        stopping = threading.Thread(target=super().stop, name="rpc-stop", daemon=True)
        stopping.start()
        stopping.join(RPC_STOP_WAIT_S)
        if stopping.is_alive():
            LOG.info("RPC servers still stopping after %.0f s; exiting without them",
                     RPC_STOP_WAIT_S)


def exit_now(status):
    """End the process once the agent's loop is over and its RPC stopped. What is left
    then are os-ken's OpenFlow threads (the controller's accept loop, one reader and
    one writer per bridge): os-ken's ``close()`` cannot end them when they are native
    threads (oslo.service's threading backend), and the interpreter would wait for them
    until supervisord's SIGKILL. The flows stay on the bridges, as they do when neutron's
    agent stops."""
    LOG.info("Agent stopped; the process exits with status %d", status)
    logging.shutdown()
    os._exit(status)
