"""nova's LibvirtDriver, which ends its connection-event thread when nova-compute stops.

nova 34's libvirt ``Host`` runs ``_conn_event_thread`` in nova's default executor and
never ends it (its ``cleanup`` says so in a TODO); the compute manager's ``cleanup_host``
then shuts the executors down and waits for that thread, for ever. nova-compute-kvm
therefore never exited on SIGTERM: supervisord killed it at ``[supervisor]
stop_timeout`` (30 s) at every 'down' and every restart of it.
"""

import logging

from nova.virt.libvirt import driver

LOG = logging.getLogger(__name__)


class EndOfConnectionEvents(BaseException):
    """Ends the connection-event thread's loop. A BaseException: the loop catches
    ``Exception`` around each handler and would go on."""


def _end_connection_events():
    raise EndOfConnectionEvents()


class LibvirtDriver(driver.LibvirtDriver):
    """``compute_driver = hybridhost_libvirt.LibvirtDriver``."""

    def cleanup_host(self, host):
        super().cleanup_host(host)
        # Queued behind any connection event still to handle, which runs first.
        self._host._conn_event_handler_queue.put(_end_connection_events)  # noqa: SLF001
        LOG.info("libvirt connection-event thread told to end")
