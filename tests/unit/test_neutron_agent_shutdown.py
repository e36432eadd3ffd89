"""The agent's way out on SIGTERM (hybridhost/neutron_agent/shutdown.py, agent.py): a
bounded wait for its RPC servers, then the end of the process. neutron's own loop and
stop are replaced by hand-written stand-ins; tests/e2e/test_agent.py stops the real
agent in the lab and reads supervisord's verdict."""
# The agent's internals are what is tested:
# ruff: noqa: SLF001

import signal
import threading

from neutron.agent import rpc as agent_rpc
from neutron.plugins.ml2.drivers.openvswitch.agent import ovs_neutron_agent
import pytest

from hybridhost.neutron_agent import agent
from hybridhost.neutron_agent import shutdown


class Exited(Exception):
    pass


@pytest.fixture
def exits(monkeypatch):
    """The statuses exit_now was called with (it raises instead of ending pytest)."""
    seen = []

    def exit_now(status):
        seen.append(status)
        raise Exited()

    monkeypatch.setattr(shutdown, "exit_now", exit_now)
    return seen


def _bare(cls):
    return cls.__new__(cls)  # the real __init__ wants OVS and RPC


class TestQuickStop:
    def test_a_stop_that_hangs_is_left_after_the_wait(self, monkeypatch):
        release = threading.Event()
        monkeypatch.setattr(agent_rpc.CacheBackedPluginApi, "stop",
                            lambda self: release.wait(30))
        monkeypatch.setattr(shutdown, "RPC_STOP_WAIT_S", 0.05)
        _bare(shutdown.QuickStopPluginApi).stop()
        assert not release.is_set()  # returned while neutron's stop still waited
        release.set()

    def test_a_stop_that_ends_in_time_is_waited_for(self, monkeypatch):
        stopped = []
        monkeypatch.setattr(agent_rpc.CacheBackedPluginApi, "stop",
                            lambda self: stopped.append(True))
        _bare(shutdown.QuickStopPluginApi).stop()
        assert stopped == [True]

    def test_it_is_neutrons_plugin_api(self):
        assert issubclass(shutdown.QuickStopPluginApi, ovs_neutron_agent.OVSPluginApi)


class TestDaemonLoop:
    def test_the_end_of_neutrons_loop_ends_the_process_with_0(self, monkeypatch, exits):
        ran = []
        monkeypatch.setattr(ovs_neutron_agent.OVSNeutronAgent, "daemon_loop",
                            lambda self: ran.append(True))
        with pytest.raises(Exited):
            _bare(agent.HybridhostOVSAgent).daemon_loop()
        assert ran == [True] and exits == [0]

    def test_a_loop_that_fails_ends_it_with_1(self, monkeypatch, exits):
        def fail(self):
            raise RuntimeError("OVSDB went away")

        monkeypatch.setattr(ovs_neutron_agent.OVSNeutronAgent, "daemon_loop", fail)
        with pytest.raises(Exited):
            _bare(agent.HybridhostOVSAgent).daemon_loop()
        assert exits == [1]


def test_exit_now_flushes_the_logs_then_ends_without_the_interpreters_wait(monkeypatch):
    calls = []
    monkeypatch.setattr(shutdown.logging, "shutdown", lambda: calls.append("flush"))
    monkeypatch.setattr(shutdown.os, "_exit", lambda status: calls.append(status))
    shutdown.exit_now(0)
    assert calls == ["flush", 0]


class TestJoinallWaking:
    def test_a_signal_delivered_to_another_thread_is_handled_while_it_waits(
            self, monkeypatch):
        """A plain join() here never ran the handler (what the agent met on SIGTERM)."""
        handled = threading.Event()
        previous = signal.signal(signal.SIGUSR1, lambda *_: handled.set())
        monkeypatch.setattr(shutdown, "SIGNAL_CHECK_S", 0.05)
        release, outcome = threading.Event(), {}
        worker = threading.Thread(target=release.wait, daemon=True)
        worker.start()

        def deliver_to_the_worker():
            signal.pthread_kill(worker.ident, signal.SIGUSR1)
            outcome["handled"] = handled.wait(2)
            release.set()

        threading.Thread(target=deliver_to_the_worker, daemon=True).start()
        try:
            shutdown.joinall_waking([worker])
        finally:
            signal.signal(signal.SIGUSR1, previous)
        assert outcome == {"handled": True}
