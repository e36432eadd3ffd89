"""RPC liveness over the real bus: oslo.messaging's ``oslo_rpc_server_ping``.

nova-compute and the OVS agent answer it when rendered with ``[DEFAULT]
rpc_ping_enabled = true``; the call goes to ``<topic>.<host>`` on the service's exchange
(nova's control_exchange is 'nova', neutron's 'neutron'), so it reaches the one service
of that host, not its process. Only here is oslo.messaging imported (lazily:
a box without RPC targets never pays for it), and its errors are translated here.
"""

import logging

LOG = logging.getLogger(__name__)

PING = "oslo_rpc_server_ping"
#: An answer that is not this comes from something that is not an oslo.messaging server.
PONG = "pong"
#: The server did not answer: the program's fault.
SILENT = "silent"
#: The bus itself could not be used: nobody's fault among the programs.
BUS = "bus"
RABBIT_GROUP = "oslo_messaging_rabbit"


class Pinger:
    """Pings ``(topic, server)`` pairs over one transport."""

    def __init__(self, transport_url, timeout, durable=False):
        self.transport_url = transport_url
        self.timeout = timeout
        self.durable = durable  # the bus's amqp_durable_queues: an exchange's declaration
        self._transport = None

    def _client(self, topic, server, exchange=None):
        from oslo_config import cfg
        import oslo_messaging

        if self._transport is None:
            # The global CONF: oslo.messaging 18.3 reads its tracing options from any
            # conf but registers them on cfg.CONF only. The watcher parses no oslo config.
            _set_durable(cfg.CONF, self.durable)
            self._transport = oslo_messaging.get_rpc_transport(cfg.CONF,
                                                               url=self.transport_url)
        target = oslo_messaging.Target(exchange=exchange, topic=topic, server=server)
        return oslo_messaging.get_rpc_client(self._transport, target,
                                             timeout=self.timeout, retry=0)

    def ping(self, topic, server, exchange=None):
        """``(None, None)`` when ``server`` answered pong, ``(None, note)`` when it
        answered with an error (alive all the same), else ``(kind, reason)`` with kind
        SILENT (no answer in time) or BUS (the message could not be sent)."""
        import oslo_messaging

        try:
            answer = self._client(topic, server, exchange).call({}, PING)
        except oslo_messaging.MessagingTimeout:
            return SILENT, "no answer to %s on %s.%s within %s s" % (
                PING, topic, server, self.timeout)
        except (oslo_messaging.NoSuchMethod, oslo_messaging.RemoteError) as err:
            # The server took the call and replied, only not with pong: it is alive
            # (rendered without rpc_ping_enabled, or older than this file).
            LOG.debug("%s.%s answered %s with an error: %s", topic, server, PING, err)
            return None, "answered, without a ping endpoint: %s" % type(err).__name__
        except oslo_messaging.MessagingException as err:
            # With retry=0 a broken connection stays in the transport's pool and every
            # later call fails with it: start again from a new transport.
            self.close()
            return BUS, "the RPC bus refused the ping: %s" % err
        if answer != PONG:
            return SILENT, "%s.%s answered %r, not %r" % (topic, server, answer, PONG)
        return None, None

    def close(self):
        if self._transport is not None:
            transport, self._transport = self._transport, None
            transport.cleanup()


def _set_durable(conf, durable):
    """Before the transport exists: its connections read the option when made."""
    import oslo_messaging.opts

    for group, opts in oslo_messaging.opts.list_opts():
        if group == RABBIT_GROUP:
            conf.register_opts(opts, group=group)
    conf.set_override("amqp_durable_queues", durable, RABBIT_GROUP)
