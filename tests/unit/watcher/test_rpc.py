"""The RPC ping's translation of oslo.messaging's outcomes (its in-memory fake driver)."""

from hybridhost.watcher import rpc


def test_no_server_on_the_bus_is_silent_within_the_timeout():
    pinger = rpc.Pinger("fake:/", timeout=1)
    try:
        kind, reason = pinger.ping("compute", "box-docker")
    finally:
        pinger.close()
    assert kind == rpc.SILENT
    assert reason == "no answer to oslo_rpc_server_ping on compute.box-docker within 1 s"
