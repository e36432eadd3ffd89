"""py-amqp's Connection and Channel as the watcher's Pinger uses them, in memory, with
RPC servers that take each message through oslo.messaging's OWN code, as its rabbit
driver does: kombu's JSON decoding, ``deserialize_msg``, ``unpack_context``, the real
``RPCDispatcher`` (with its PingEndpoint when rpc_ping_enabled), and a reply built by
``serialize_msg`` / ``serialize_remote_exception``. So the lean pinger's wire format is
checked against oslo.messaging's, not against a copy of it."""

import json
import socket
import sys
import types

import amqp
from oslo_config import cfg
from oslo_messaging import serializer as msg_serializer
from oslo_messaging._drivers import amqp as rpc_amqp
from oslo_messaging._drivers import common as rpc_common
from oslo_messaging.rpc import dispatcher as rpc_dispatcher


class Echo:
    def echo(self, ctxt, value):
        return value


def oslo_server(ping_enabled=True):
    """A function that answers one request body as an oslo.messaging server would:
    the reply body, or None for no reply."""
    # The dispatcher reads rpc_ping_enabled from cfg.CONF, as nova-compute's does.
    cfg.CONF.register_opts(rpc_dispatcher._dispatcher_opts)  # noqa: SLF001 - its option
    cfg.CONF.set_override("rpc_ping_enabled", ping_enabled)
    try:
        dispatcher = rpc_dispatcher.RPCDispatcher([Echo()], msg_serializer.NoOpSerializer())
    finally:
        cfg.CONF.clear_override("rpc_ping_enabled")

    def answer(body):
        message = rpc_common.deserialize_msg(json.loads(body))
        ctxt = rpc_amqp.unpack_context(message)
        message.pop(rpc_amqp.UNIQUE_ID)
        incoming = types.SimpleNamespace(message=message, ctxt=ctxt.to_dict(),
                                         client_timeout=ctxt.client_timeout)
        reply = {"result": None, "failure": None, "ending": True, "_msg_id": ctxt.msg_id}
        try:
            reply["result"] = dispatcher.dispatch(incoming)
        except Exception:  # noqa: BLE001 - sent back as the failure, as the driver does
            reply["failure"] = rpc_common.serialize_remote_exception(sys.exc_info())
        return ctxt.reply_q, json.dumps(rpc_common.serialize_msg(reply))
    return answer


class Broker:
    """``servers``: {(exchange, routing key): answer(body)}; ``exchanges`` the broker
    has; ``down``: connections are refused. Called as py-amqp's Connection class."""

    def __init__(self, servers=None, exchanges=("nova", "neutron")):
        self.servers = dict(servers or {})
        self.exchanges = set(exchanges)
        self.down = False
        self.connections = []
        self.published = []
        self.queues = {}
        self.late = []

    def __call__(self, **kwargs):
        conn = Connection(self, kwargs)
        self.connections.append(conn)
        return conn


class Connection:
    def __init__(self, broker, kwargs):
        self.broker, self.kwargs = broker, kwargs
        self.inbox, self.closed = [], False

    def connect(self):
        if self.broker.down:
            raise ConnectionRefusedError(111, "Connection refused")

    def channel(self):
        return Channel(self)

    def drain_events(self, timeout=None):
        if self.broker.down:
            raise amqp.exceptions.ConnectionForced("broker went away")
        if not self.inbox:
            raise socket.timeout("timed out")
        queue, body = self.inbox.pop(0)
        self.broker.queues[queue](types.SimpleNamespace(body=body))

    def close(self):
        self.closed = True

    def collect(self):
        self.closed = True


class Channel:
    def __init__(self, conn):
        self.conn = conn

    def exchange_declare(self, exchange, type, passive=False):
        assert passive and type == "topic"
        if exchange not in self.conn.broker.exchanges:
            raise amqp.exceptions.NotFound("no exchange '%s'" % exchange)

    def queue_declare(self, queue, durable=False, auto_delete=False):
        assert not durable and auto_delete

    def basic_consume(self, queue, callback, no_ack=False):
        self.conn.broker.queues[queue] = callback

    def basic_publish(self, message, exchange, routing_key):
        broker = self.conn.broker
        if broker.down:
            raise BrokenPipeError(32, "Broken pipe")
        assert message.properties["content_type"] == "application/json"
        broker.published.append((exchange, routing_key, message))
        server = broker.servers.get((exchange, routing_key))
        if server is not None:
            self.conn.inbox.append(server(message.body))
        for late in broker.late:
            self.conn.inbox.insert(0, late)
        broker.late = []

    def close(self):
        pass
