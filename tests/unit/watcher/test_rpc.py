"""The RPC ping over oslo.messaging's in-memory fake driver, with a real RPC server:
pong, a server without the ping endpoint, and no server at all."""

import pytest

from hybridhost.watcher import rpc


class _Endpoint:
    def echo(self, ctxt, value):
        return value


@pytest.fixture
def server():
    from oslo_config import cfg
    import oslo_messaging
    import oslo_messaging.opts

    pinger = rpc.Pinger("fake:/", timeout=1)
    pinger._client("compute", "box-kvm")  # noqa: SLF001 - the transport is the pinger's
    transport = pinger._transport  # noqa: SLF001
    started = []

    def start(ping_enabled):
        # The dispatcher reads rpc_ping_enabled from cfg.CONF, as nova-compute does.
        cfg.CONF.register_opts([opt for group, opts in oslo_messaging.opts.list_opts()
                                if group in (None, "DEFAULT") for opt in opts
                                if opt.name == "rpc_ping_enabled"])
        cfg.CONF.set_override("rpc_ping_enabled", ping_enabled)
        target = oslo_messaging.Target(topic="compute", server="box-kvm")
        srv = oslo_messaging.get_rpc_server(transport, target, [_Endpoint()],
                                            executor="threading")
        srv.start()
        started.append(srv)
        return pinger

    yield start
    for srv in started:
        srv.stop()
        srv.wait()
    cfg.CONF.clear_override("rpc_ping_enabled")
    pinger.close()


def test_a_server_rendered_with_rpc_ping_enabled_answers_pong(server):
    assert server(True).ping("compute", "box-kvm") == (None, None)


def test_a_server_without_the_ping_endpoint_still_answers(server):
    """It replies NoSuchMethod: the service is alive, just not rendered for pings."""
    kind, note = server(False).ping("compute", "box-kvm")
    assert kind is None and note.startswith("answered, without a ping endpoint: NoSuchMethod")


def test_no_server_on_the_bus_is_silent_within_the_timeout():
    pinger = rpc.Pinger("fake:/", timeout=1)
    try:
        kind, reason = pinger.ping("compute", "box-docker")
    finally:
        pinger.close()
    assert kind == rpc.SILENT
    assert reason == "no answer to oslo_rpc_server_ping on compute.box-docker within 1 s"


class _Transport:
    cleaned = False

    def cleanup(self):
        self.cleaned = True


def test_a_bus_failure_drops_the_transport_so_the_next_ping_reconnects(monkeypatch):
    """With retry=0 a broken connection would stay pooled and fail every later ping."""
    import oslo_messaging

    pinger = rpc.Pinger("rabbit://nobody@127.0.0.1:1/", timeout=1)
    transport = pinger._transport = _Transport()  # noqa: SLF001 - the pinger's own

    def refuse(topic, server, exchange=None):
        raise oslo_messaging.MessageDeliveryFailure("connection already closed")

    monkeypatch.setattr(pinger, "_client", refuse)
    kind, reason = pinger.ping("compute", "box-kvm", "nova")
    assert kind == rpc.BUS and "connection already closed" in reason
    assert transport.cleaned and pinger._transport is None  # noqa: SLF001


@pytest.mark.parametrize("durable", [True, False])
def test_the_pinger_declares_as_the_bus_does(durable):
    from oslo_config import cfg

    pinger = rpc.Pinger("fake:/", timeout=1, durable=durable)
    try:
        pinger._client("compute", "box-kvm")  # noqa: SLF001 - its transport is made here
        assert cfg.CONF.oslo_messaging_rabbit.amqp_durable_queues is durable
    finally:
        pinger.close()
        cfg.CONF.clear_override("amqp_durable_queues", "oslo_messaging_rabbit")
