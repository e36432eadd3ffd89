"""The RPC ping in oslo.messaging's wire format over py-amqp, against in-memory servers
that read and answer it with oslo.messaging's own code (tests/unit/watcher/amqp_fake.py):
pong, a server without the ping endpoint, no server, no exchange, a broker that is down.
tests/e2e/test_watcher.py pings the lab's real nova-computes and agent with it."""

import json

from oslo_messaging._drivers import common as rpc_common

from hybridhost.watcher import rpc
from tests.unit.watcher import amqp_fake

URL = "rabbit://openstack:s3cret@127.0.0.1:5672/"
DOCKER = ("nova", "compute", "box-docker")
KVM = ("nova", "compute", "box-kvm")
AGENT = ("neutron", "q-agent-notifier-tunnel-update", "box-kvm")


def _pinger(broker, timeout=1):
    return rpc.Pinger(URL, timeout, connection_factory=broker)


def _server(target, ping_enabled=True):
    exchange, topic, server = target
    return {(exchange, "%s.%s" % (topic, server)): amqp_fake.oslo_server(ping_enabled)}


def test_a_server_rendered_with_rpc_ping_enabled_answers_pong():
    broker = amqp_fake.Broker({**_server(DOCKER), **_server(AGENT)})
    found = _pinger(broker).ping_all([DOCKER, AGENT])
    assert {t: found[t][:2] for t in found} == {DOCKER: (None, None), AGENT: (None, None)}
    assert all(found[t][2] >= 0 for t in found)


def test_the_call_is_sent_as_an_rpc_client_sends_it():
    """Exchange, routing key '<topic>.<server>', the envelope oslo.messaging reads, and
    an expiry: a ping nobody consumes does not pile up in a wedged server's queue."""
    broker = amqp_fake.Broker()
    _pinger(broker, timeout=3).ping_all([KVM])
    [(exchange, key, message)] = broker.published
    assert (exchange, key) == ("nova", "compute.box-kvm")
    assert message.properties["expiration"] == "3000"
    inner = rpc_common.deserialize_msg(json.loads(message.body))
    assert inner["method"] == rpc.PING and inner["args"] == {}
    assert inner["_reply_q"].startswith("reply_") and inner["_msg_id"]


def test_a_server_without_the_ping_endpoint_still_answers():
    """It replies NoSuchMethod: the service is alive, just not rendered for pings."""
    broker = amqp_fake.Broker(_server(KVM, ping_enabled=False))
    kind, note = _pinger(broker).ping("compute", "box-kvm", "nova")
    assert kind is None and note == "answered, without a ping endpoint: NoSuchMethod"


def test_no_server_on_the_bus_is_silent_within_the_timeout():
    broker = amqp_fake.Broker(_server(KVM))
    found = _pinger(broker).ping_all([KVM, DOCKER])
    assert found[KVM][0] is None
    assert found[DOCKER][:2] == (rpc.SILENT, "no answer to oslo_rpc_server_ping on "
                                 "compute.box-docker within 1 s")


def test_an_exchange_the_bus_does_not_have_is_silent_and_the_others_still_pinged():
    broker = amqp_fake.Broker({**_server(KVM), **_server(AGENT)}, exchanges=("nova",))
    found = _pinger(broker).ping_all([KVM, AGENT])
    assert found[KVM][0] is None
    assert found[AGENT][:2] == (rpc.SILENT, "exchange neutron does not exist on the bus: "
                                "no server of it is connected")


def test_a_broker_that_is_down_is_the_bus_and_the_next_ping_connects_again():
    broker = amqp_fake.Broker(_server(KVM))
    pinger = _pinger(broker)
    assert pinger.ping_all([KVM])[KVM][0] is None
    broker.down = True
    kind, reason, _latency = pinger.ping_all([KVM])[KVM]
    assert kind == rpc.BUS and reason.startswith("the RPC bus refused the ping")
    assert broker.connections[0].closed
    broker.down = False
    assert pinger.ping_all([KVM])[KVM][0] is None
    assert len(broker.connections) == 2


def test_a_late_reply_to_an_earlier_ping_is_not_taken_for_this_one():
    broker = amqp_fake.Broker(_server(KVM))
    pinger = _pinger(broker)
    pinger.ping_all([KVM])
    old_reply = amqp_fake.oslo_server()(broker.published[-1][2].body)
    broker.late = [old_reply]
    broker.servers.clear()
    assert pinger.ping_all([KVM])[KVM][0] == rpc.SILENT


def test_an_answer_that_is_not_pong_is_silent():
    assert rpc.outcome(json.dumps(rpc_common.serialize_msg(
        {"result": "hello", "failure": None, "_msg_id": "m"}))) == (
        "m", rpc.SILENT, "answered 'hello', not 'pong'")


def test_brokers_of_a_transport_url():
    assert rpc.brokers("rabbit://u:p%40ss@h1:5672,u:p%40ss@h2/nova") == [
        ("h1:5672", "u", "p@ss", "nova"), ("h2:5672", "u", "p@ss", "nova")]
    assert rpc.brokers(URL) == [("127.0.0.1:5672", "openstack", "s3cret", "/")]
