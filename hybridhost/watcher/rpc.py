"""RPC liveness over the real bus: oslo.messaging's ``oslo_rpc_server_ping``, sent in
oslo.messaging's own wire format over py-amqp (the AMQP client its rabbit driver uses
through kombu).

nova-compute and the OVS agent answer it when rendered with ``[DEFAULT]
rpc_ping_enabled = true``; the call goes to ``<topic>.<host>`` on the service's exchange
(nova's control_exchange is 'nova', neutron's 'neutron'), so it reaches the one service
of that host, not its process. oslo.messaging itself (with oslo.config, kombu and the
rest: about 30 MB) stays out of the watcher, which lives as long as the box: what an
RPC client puts on the wire for a call is small and stable, and is reproduced here.

The call (``RPCClient.call`` through the rabbit driver): to the ``<exchange>`` topic
exchange, routing key ``<topic>.<server>``, a JSON body ``{"oslo.version": "2.0",
"oslo.message": "<JSON of {method, args, _msg_id, _reply_q, _timeout, _unique_id}>"}``,
content type application/json, expiring after the timeout. The server answers on the
default exchange to the queue named in ``_reply_q`` with the same envelope around
``{result, failure, ending, _msg_id}``. tests/unit/watcher/test_rpc.py checks both
directions against oslo.messaging's own (de)serialisation; the e2e test pings the lab's
nova-computes and agent with it.
"""

import json
import logging
import socket
import time
import urllib.parse
import uuid

import amqp

LOG = logging.getLogger(__name__)

PING = "oslo_rpc_server_ping"
#: An answer that is not this comes from something that is not an oslo.messaging server.
PONG = "pong"
#: The server did not answer: the program's fault.
SILENT = "silent"
#: The bus itself could not be used: nobody's fault among the programs.
BUS = "bus"
ENVELOPE_VERSION, VERSION_KEY, MESSAGE_KEY = "2.0", "oslo.version", "oslo.message"
CONTENT_TYPE = "application/json"
#: How RabbitMQ's management tools name the watcher's connection.
CONNECTION_NAME = "hybridhost-watcher"
#: What py-amqp raises when the broker cannot be reached or refuses an operation.
BUS_ERRORS = (amqp.exceptions.AMQPError, OSError, EOFError)


def brokers(transport_url):
    """``[(host:port, user, password, virtual host)]`` of a ``rabbit://`` transport URL
    (``rabbit://u:p@h1:5672,u:p@h2:5672/vhost``), in the order to try them."""
    parsed = urllib.parse.urlsplit(transport_url)
    if parsed.scheme not in ("rabbit", "amqp"):
        raise ValueError("transport_url %s is not rabbit://" % parsed.scheme)
    vhost = urllib.parse.unquote(parsed.path[1:]) or "/"
    found = []
    for netloc in parsed.netloc.split(","):
        auth, _, host = netloc.rpartition("@")
        user, _, password = auth.partition(":")
        found.append((host if ":" in host.rsplit("]", 1)[-1] else host + ":5672",
                      urllib.parse.unquote(user) or "guest",
                      urllib.parse.unquote(password) or "guest", vhost))
    return found


def request(msg_id, reply_queue):
    """The body of a call of ``PING`` (no arguments, an empty context) replying to
    ``reply_queue``."""
    message = {"method": PING, "args": {}, "_msg_id": msg_id, "_reply_q": reply_queue,
               "_timeout": None, "_unique_id": uuid.uuid4().hex}
    return json.dumps({VERSION_KEY: ENVELOPE_VERSION, MESSAGE_KEY: json.dumps(message)})


def outcome(body):
    """``(msg_id, kind, note)`` of a reply's body: kind None when the server answered
    (note None for pong, else what it answered), SILENT when it answered not pong."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    envelope = json.loads(body)
    reply = json.loads(envelope[MESSAGE_KEY]) if MESSAGE_KEY in envelope else envelope
    msg_id = reply.get("_msg_id")
    if reply.get("failure"):
        # The server took the call and replied, only not with pong: it is alive
        # (rendered without rpc_ping_enabled, or older than this file).
        failure = reply["failure"]
        name = json.loads(failure).get("class") if isinstance(failure, str) else failure
        return msg_id, None, "answered, without a ping endpoint: %s" % name
    if reply.get("result") != PONG:
        return msg_id, SILENT, "answered %r, not %r" % (reply.get("result"), PONG)
    return msg_id, None, None


class Pinger:
    """Pings ``(exchange, topic, server)`` targets over one AMQP connection, kept
    between rounds, with one reply queue (auto-deleted when the watcher goes)."""

    def __init__(self, transport_url, timeout, connection_factory=amqp.Connection):
        self.brokers = brokers(transport_url)
        self.timeout = timeout
        self._factory = connection_factory
        self._conn = self._channel = None
        self._reply_queue = None
        self._pending, self._answers = {}, {}

    def _connect(self):
        last = None
        for host, user, password, vhost in self.brokers:
            # No heartbeats: a ping every round is traffic enough, and a dead connection
            # fails the next round's ping, which drops it. Writes are bounded too: a
            # broker that blocks publishers must not hold the ping forever.
            conn = self._factory(host=host, userid=user, password=password,
                                 virtual_host=vhost, connect_timeout=self.timeout,
                                 write_timeout=self.timeout, heartbeat=0,
                                 client_properties={"connection_name": CONNECTION_NAME})
            try:
                conn.connect()
            except BUS_ERRORS as err:
                last = err
                continue
            return conn
        raise last

    def _open(self):
        if self._channel is not None:
            return self._channel
        self._conn = self._connect()
        channel = self._conn.channel()
        self._reply_queue = "reply_%s" % uuid.uuid4().hex
        channel.queue_declare(self._reply_queue, durable=False, auto_delete=True)
        channel.basic_consume(self._reply_queue, callback=self._on_reply, no_ack=True)
        self._channel = channel
        return channel

    def _on_reply(self, message):
        try:
            msg_id, kind, note = outcome(message.body)
        except (ValueError, KeyError, AttributeError, TypeError) as err:
            LOG.debug("an unreadable reply ignored: %s", err)
            return
        if msg_id in self._pending:
            self._answers[self._pending.pop(msg_id)] = (kind, note,
                                                        time.monotonic() - self._sent)
        else:
            LOG.debug("a late reply ignored (%s)", msg_id)

    def _missing_exchanges(self, exchanges):
        """The exchanges the broker does not have (no server of theirs ever started);
        asked on a channel of their own, which the broker closes at the first one."""
        missing = set()
        for exchange in sorted(exchanges):
            channel = self._conn.channel()
            try:
                channel.exchange_declare(exchange, "topic", passive=True)
            except amqp.exceptions.NotFound:
                missing.add(exchange)
                continue
            channel.close()
        return missing

    def ping_all(self, targets):
        """``{(exchange, topic, server): (kind, note, latency)}``: kind None when the
        server answered (in latency s), SILENT when it did not within the timeout, BUS
        when the message could not be sent (the connection is dropped and made again
        next time)."""
        targets = list(targets)
        self._pending, self._answers, self._sent = {}, {}, time.monotonic()
        try:
            self._send(targets)
            self._wait(time.monotonic() + self.timeout)
        except BUS_ERRORS as err:
            self.close()
            return {t: self._answers.get(t, (BUS, "the RPC bus refused the ping: %s" % (
                err or type(err).__name__), None)) for t in targets}
        return {t: self._answers.get(t) or (SILENT, "no answer to %s on %s.%s within %s s"
                                            % (PING, t[1], t[2], self.timeout), None)
                for t in targets}

    def _send(self, targets):
        channel = self._open()
        missing = self._missing_exchanges({exchange for exchange, _t, _s in targets})
        for target in targets:
            exchange, topic, server = target
            if exchange in missing:
                self._answers[target] = (SILENT, "exchange %s does not exist on the bus: "
                                         "no server of it is connected" % exchange, None)
                continue
            msg_id = uuid.uuid4().hex
            self._pending[msg_id] = target
            channel.basic_publish(
                amqp.Message(request(msg_id, self._reply_queue), content_type=CONTENT_TYPE,
                             content_encoding="utf-8",
                             expiration=str(int(self.timeout * 1000))),
                exchange=exchange, routing_key="%s.%s" % (topic, server))

    def _wait(self, deadline):
        while self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self._conn.drain_events(timeout=left)
            except socket.timeout:
                return

    def ping(self, topic, server, exchange="openstack"):
        """One target: ``(kind, note)`` as ``ping_all``."""
        kind, note, _latency = self.ping_all([(exchange, topic, server)])[
            (exchange, topic, server)]
        return kind, note

    def close(self):
        conn, self._conn, self._channel = self._conn, None, None
        if conn is None:
            return
        try:
            conn.close()
        except BUS_ERRORS as err:
            LOG.debug("the AMQP connection is dropped: %s", err)
            conn.collect()
