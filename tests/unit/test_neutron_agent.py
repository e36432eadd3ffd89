"""The OVS agent's loop wait (hybridhost/neutron_agent/loop.py) on a fake clock, with
hand-written polling managers; the agent itself runs in the lab (tests/e2e boot through
it) and bench/boot.py measures what it changes ("agent saw port")."""
# The agent's loop internals are what is tested:
# ruff: noqa: SLF001

import sys
import types

import pytest

from hybridhost.neutron_agent import agent
from hybridhost.neutron_agent import loop
from hybridhost.neutron_agent import main as agent_main
from hybridhost.neutron_agent import shutdown

INTERVAL = 1


class FakeClock:
    """time() and sleep() of the loop; ``during_sleep(n, what)`` runs ``what`` in the
    n-th sleep (1-based), as another thread would while the loop sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []
        self._events = {}

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        self._events.pop(len(self.sleeps), lambda: None)()

    def during_sleep(self, number, what):
        self._events[number] = what


class FakeMonitor:
    def __init__(self, active=True):
        self.active = active

    def is_active(self):
        return self.active


class FakePollingManager:
    """An InterfacePollingMinimizer: has updates from the ``updates_at``-th look on
    (neutron's keeps saying so until the loop calls ``polling_completed``)."""

    def __init__(self, updates_at=None, active=True):
        self._monitor = FakeMonitor(active)
        self.updates_at = updates_at
        self.looks = 0

    @property
    def is_polling_required(self):
        self.looks += 1
        return self.updates_at is not None and self.looks >= self.updates_at


class FakeAlwaysPoll:
    """neutron's AlwaysPoll (minimize_polling = False): no monitor, always required."""

    is_polling_required = True


class FakeSecurityGroupAgent:
    refresh = False

    def firewall_refresh_needed(self):
        return self.refresh


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(loop, "time", fake)
    return fake


def bare_agent(polling_manager):
    """Only what the loop's wait reads: the real ``__init__`` wants OVS and RPC."""
    agent = loop.EventDrivenOVSAgent.__new__(loop.EventDrivenOVSAgent)
    agent.polling_interval = INTERVAL
    agent.iter_num = 7
    agent.updated_ports, agent.deleted_ports = set(), set()
    agent.deactivated_bindings, agent.activated_bindings = set(), set()
    agent.updated_smartnic_ports = []
    agent.sg_agent = FakeSecurityGroupAgent()
    agent._polling_manager = polling_manager
    return agent


def test_the_wait_ends_at_the_first_look_that_finds_a_port(clock):
    manager = FakePollingManager(updates_at=4)
    agent = bare_agent(manager)
    start = clock.now
    agent.loop_count_and_wait(start, {})
    assert manager.looks == 4  # the first look is the one before waiting
    assert clock.now - start == pytest.approx(2 * loop.WAKE_CHECK_S)
    assert agent.iter_num == 8


def test_with_nothing_to_do_it_waits_out_the_polling_interval(clock):
    manager = FakePollingManager()
    agent = bare_agent(manager)
    start = clock.now
    agent.loop_count_and_wait(start, {})
    assert clock.now - start == pytest.approx(INTERVAL)
    assert max(clock.sleeps) <= loop.WAKE_CHECK_S
    # One look before waiting, one after each slice (the float sum may leave one more).
    assert manager.looks == pytest.approx(INTERVAL / loop.WAKE_CHECK_S + 1, abs=1)


def test_time_the_iteration_took_counts_against_the_interval(clock):
    agent = bare_agent(FakePollingManager())
    start = clock.now - 0.8
    agent.loop_count_and_wait(start, {})
    assert clock.now - start == pytest.approx(INTERVAL)


def test_an_iteration_longer_than_the_interval_does_not_wait_but_yields(clock):
    agent = bare_agent(FakePollingManager())
    now = clock.now
    agent.loop_count_and_wait(now - 3, {})
    assert clock.sleeps == [0]


@pytest.mark.parametrize("work", ["updated_ports", "deleted_ports", "activated_bindings"])
def test_a_port_event_from_the_server_ends_the_wait(clock, work):
    agent = bare_agent(FakePollingManager())
    clock.during_sleep(3, lambda: getattr(agent, work).add("port-1"))
    start = clock.now
    agent.loop_count_and_wait(start, {})
    assert clock.now - start == pytest.approx(2 * loop.WAKE_CHECK_S)


def test_a_firewall_refresh_ends_the_wait(clock):
    agent = bare_agent(FakePollingManager())
    clock.during_sleep(2, lambda: setattr(agent.sg_agent, "refresh", True))
    start = clock.now
    agent.loop_count_and_wait(start, {})
    assert clock.now - start == pytest.approx(loop.WAKE_CHECK_S)


@pytest.mark.parametrize("left_undone", [
    lambda agent: agent.updated_ports.add("port-1"),  # an error put the ports back
    lambda agent: setattr(agent, "_polling_manager", FakePollingManager(updates_at=1)),
])
def test_work_the_iteration_left_undone_waits_out_the_interval(clock, left_undone):
    """OVS down, or an iteration that failed: neutron waits before trying again, so
    that a failing iteration does not repeat without a pause; so does this agent."""
    agent = bare_agent(FakePollingManager())
    left_undone(agent)
    start = clock.now
    agent.loop_count_and_wait(start, {})
    assert clock.now - start == pytest.approx(INTERVAL)
    assert agent.iter_num == 8


def test_a_monitor_being_respawned_is_not_asked(clock):
    """Asking an inactive monitor logs an error each time: the wait sleeps instead."""
    manager = FakePollingManager(updates_at=1, active=False)
    agent = bare_agent(manager)
    start = clock.now
    agent.loop_count_and_wait(start, {})
    assert manager.looks == 0
    assert clock.now - start == pytest.approx(INTERVAL)


def test_without_a_monitor_it_sleeps_like_neutron_instead_of_spinning(clock):
    agent = bare_agent(FakeAlwaysPoll())
    start = clock.now
    agent.loop_count_and_wait(start, {})
    assert clock.now - start == pytest.approx(INTERVAL)


def test_before_the_loop_starts_there_is_nothing_to_ask(clock):
    agent = bare_agent(None)
    start = clock.now
    agent.loop_count_and_wait(start, {})
    assert clock.now - start == pytest.approx(INTERVAL)


def test_rpc_loop_keeps_its_polling_manager_for_the_wait(monkeypatch):
    seen = []
    monkeypatch.setattr(loop.ovs_neutron_agent.OVSNeutronAgent, "rpc_loop",
                        lambda self, polling_manager: seen.append(polling_manager))
    agent = bare_agent(None)
    manager = FakePollingManager()
    agent.rpc_loop(polling_manager=manager)
    assert agent._polling_manager is manager
    assert seen == [manager]


def test_the_command_runs_neutrons_main_with_this_agent(monkeypatch):
    """neutron's command module itself is not imported here: it selects oslo.service's
    threading backend, and nova (imported by other tests) chose eventlet."""
    built = []
    command = types.ModuleType(agent_main.NEUTRON_COMMAND)
    command.main = lambda: built.append(agent_main.ovs_neutron_agent.OVSNeutronAgent)
    monkeypatch.setitem(sys.modules, agent_main.NEUTRON_COMMAND, command)
    for name in ("OVSNeutronAgent", "OVSPluginApi"):  # restored after the test
        monkeypatch.setattr(agent_main.ovs_neutron_agent, name,
                            getattr(agent_main.ovs_neutron_agent, name))
    monkeypatch.setattr(agent_main.hub, "joinall", agent_main.hub.joinall)
    agent_main.main()
    assert built == [agent.HybridhostOVSAgent]
    assert agent_main.ovs_neutron_agent.OVSPluginApi is shutdown.QuickStopPluginApi
    assert agent_main.hub.joinall is shutdown.joinall_waking
