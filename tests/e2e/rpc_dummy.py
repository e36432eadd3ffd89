"""A dummy RPC service for tests/e2e/test_watcher.py: an oslo.messaging RPC server with
rpc_ping_enabled on (as nova-compute and the agent are rendered), on the bus given.
SIGUSR1 wedges it: the server stops consuming while the process runs on, as a service
whose RabbitMQ connection is blocked would.

    python rpc_dummy.py TRANSPORT_URL EXCHANGE TOPIC SERVER
"""

import signal
import sys
import threading

from oslo_config import cfg
import oslo_messaging
import oslo_messaging.opts


class Endpoint:
    def echo(self, ctxt, value):
        return value


def main(url, exchange, topic, server):
    cfg.CONF.register_opts([opt for group, opts in oslo_messaging.opts.list_opts()
                            if group in (None, "DEFAULT") for opt in opts
                            if opt.name == "rpc_ping_enabled"])
    cfg.CONF.set_override("rpc_ping_enabled", True)
    transport = oslo_messaging.get_rpc_transport(cfg.CONF, url=url)
    target = oslo_messaging.Target(exchange=exchange, topic=topic, server=server)
    rpc_server = oslo_messaging.get_rpc_server(transport, target, [Endpoint()],
                                               executor="threading")
    wedged = threading.Event()
    signal.signal(signal.SIGUSR1, lambda _sig, _frame: wedged.set())
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
    rpc_server.start()
    wedged.wait()
    rpc_server.stop()
    threading.Event().wait()


if __name__ == "__main__":
    main(*sys.argv[1:5])
