"""Rounds of the watcher against a fake supervisord, fake processes and a fake bus."""

import json
import logging

import pytest

from hybridhost import supervisor_rpc
from hybridhost.watcher import listener
from hybridhost.watcher import repairs
from hybridhost.watcher import service
from hybridhost.watcher import topology
from tests.unit import fakes as box_fakes
from tests.unit.watcher import fakes

BASE, DEP, COMPUTE, AGENT = "g:base", "g:dep", "g:compute", "g:agent"
OWN = "hybridhost-watcher:hybridhost-watcher"
PROGRAMS = (topology.Program(BASE), topology.Program(DEP, needs=(BASE,)),
            topology.Program(COMPUTE, needs=(DEP,), rpc_topic="compute", rpc_server="h-kvm"),
            topology.Program(AGENT, rpc_topic="q-agent", rpc_server="h-kvm"))


def _tick():
    return listener.Event("TICK_5", {}, {"when": "1"})


def _state(name, new, **payload):
    group, _, process = name.partition(":")
    return listener.Event("PROCESS_STATE_" + new, {}, dict(
        payload, groupname=group, processname=process))


class Box:
    def __init__(self, tmp_path, services=(), kinds=None, states=None, **settings):
        settings = dict(dict(hang_timeout=5, rpc_hang_timeout=30, repair_backoff=10),
                        **settings)
        self.topology = fakes.topo(tmp_path, PROGRAMS, services, **settings)
        self.supervisor = box_fakes.FakeSupervisorClient(
            dict({name: "RUNNING" for name in (BASE, DEP, COMPUTE, AGENT, OWN)},
                 **(states or {})))
        self.processes, self.pinger, self.clock = (
            fakes.FakeProcesses(), fakes.FakePinger(), fakes.Clock())
        for program in self.supervisor.programs():
            self.processes.status[program.pid] = "sleeping"
        self.watcher = service.Watcher(
            self.topology, self.supervisor, pinger=self.pinger, kinds=kinds,
            processes=self.processes, deadlines=fakes.InlineDeadlines(), clock=self.clock,
            wall=lambda: 1.7e9 + self.clock.now, own_name=OWN)

    def pid(self, name):
        return {p.full_name: p for p in self.supervisor.programs()}[name].pid

    def tick(self, advance=5):
        self.clock.advance(advance)
        self.watcher.handle(_tick())

    def report(self):
        with open(self.topology.settings.state_file) as handle:
            data = json.load(handle)
        return {p["part"]: p for p in data["parts"]}


@pytest.fixture
def box(tmp_path):
    return Box(tmp_path)


def test_a_round_writes_every_part_healthy_and_skips_the_watcher(box):
    box.tick()
    parts = box.report()
    assert set(parts) == {"supervisord", BASE, DEP, COMPUTE, AGENT}
    assert {p["health"] for p in parts.values()} == {"healthy"}
    assert "rpc ping" in parts[COMPUTE]["detail"] and "MiB" in parts[BASE]["detail"]
    assert sorted(box.pinger.calls) == [("compute", "h-kvm"), ("q-agent", "h-kvm")]


def test_ticks_only_start_a_round_every_check_interval(box):
    box.tick()
    box.tick(advance=2)
    assert len(box.pinger.calls) == 2
    box.tick(advance=2.5)
    assert len(box.pinger.calls) == 4, "a tick 0.5 s early still starts the round"


def test_a_stopped_process_is_killed_and_started_after_hang_timeout(box):
    old = box.pid(BASE)
    box.processes.status[old] = "stopped"
    box.tick()
    assert box.report()[BASE]["health"] == "degraded" and box.pid(BASE) == old
    box.tick()
    assert box.supervisor.signals == [(BASE, "KILL")]
    assert box.pid(BASE) != old
    box.watcher.handle(_state(BASE, "EXITED", expected="0", from_state="RUNNING"))
    # The kill's exit is not a crash: a crash now is the second trouble (the repair's
    # and its own), not the third.
    assert "(trouble 2 of 3 within 300 s)" in box.watcher.repairs.crashed(
        BASE, box.clock.now).reason


def test_a_program_silent_on_rpc_is_restarted_after_rpc_hang_timeout(box):
    old = box.pid(COMPUTE)
    box.pinger.answers[("compute", "h-kvm")] = fakes.SILENT
    box.tick()
    detail = box.report()[COMPUTE]["detail"]
    assert "rpc: silent: compute.h-kvm" in detail and "(repair after 30 s)" in detail
    box.tick(advance=25)
    assert box.pid(COMPUTE) == old
    box.tick(advance=5)
    assert box.pid(COMPUTE) != old


def test_when_no_rpc_server_answers_the_bus_is_blamed_and_nothing_restarted(box):
    old = box.pid(COMPUTE)
    box.pinger.answers = {("compute", "h-kvm"): fakes.SILENT,
                          ("q-agent", "h-kvm"): fakes.SILENT}
    for _ in range(10):
        box.tick(advance=10)
    part = box.report()[COMPUTE]
    assert box.pid(COMPUTE) == old and part["health"] == "degraded"
    assert "no RPC server answered (the bus?)" in part["detail"]


def test_a_crash_loop_ends_stopped_and_failed(box):
    for _ in range(4):
        box.clock.advance(2)
        box.watcher.handle(_state(DEP, "EXITED", expected="0", from_state="RUNNING"))
    assert {p.full_name: p.state for p in box.supervisor.programs()}[DEP] == "STOPPED"
    box.tick()
    part = box.report()[DEP]
    assert part["health"] == "failed" and "crashed 4 times" in part["detail"]


def test_an_expected_exit_is_no_crash(box):
    for _ in range(5):
        box.watcher.handle(_state(DEP, "EXITED", expected="1", from_state="RUNNING"))
    assert box.watcher.repairs.failed(DEP) is None


def test_a_dependency_running_again_checks_its_dependents_at_once(box, caplog):
    caplog.set_level(logging.INFO)
    box.tick()
    calls = len(box.pinger.calls)
    box.clock.advance(1)
    box.watcher.handle(_state(BASE, "RUNNING", from_state="STARTING"))
    assert len(box.pinger.calls) == calls + 2
    assert "g:base is RUNNING again: checking what depends on it now (g:dep, g:compute)" \
        in caplog.text


def test_a_first_start_is_not_taken_for_a_restart(box):
    box.watcher.handle(_state(BASE, "RUNNING", from_state="STARTING"))
    assert box.pinger.calls == []


def test_supervisord_unreachable_is_reported_down(box):
    box.supervisor.shutdown()
    box.tick()
    parts = box.report()
    assert list(parts) == ["supervisord"] and parts["supervisord"]["health"] == "down"


def test_a_probe_that_raises_is_the_daemon_down_not_the_watcher(tmp_path):
    def broken(target, timeout):
        raise RuntimeError("boom at %s" % target)

    box = Box(tmp_path, services=[topology.Service("docker", "docker", "unix:///x")],
              kinds={"docker": broken})
    box.tick()
    part = box.report()["docker"]
    assert part["health"] == "down" and part["state"] == "no answer"
    assert part["detail"] == "probe failed: RuntimeError: boom at unix:///x"


def test_a_fatal_program_is_started_again(tmp_path):
    box = Box(tmp_path, states={AGENT: "FATAL"})
    box.tick()
    assert box.pid(AGENT) and {p.full_name: p.state for p in box.supervisor.programs()}[
        AGENT] == repairs.RUNNING


def _checked_box(tmp_path, results, interval=60):
    calls = []

    def check():
        calls.append(1)
        return results[min(len(calls), len(results)) - 1]

    box = Box(tmp_path)
    box.watcher.checks = {"vifs": (check, interval)}
    return box, calls


def test_a_checks_problem_counts_once_a_sooner_run_finds_it_again(tmp_path):
    problem = "2 problem(s) on br-int: dead-vlan hhd1"
    box, calls = _checked_box(tmp_path, [problem, problem, None])
    box.tick()
    part = box.report()["vifs"]
    assert (part["state"], part["health"]) == ("checking again", "healthy")
    assert part["detail"] == "unconfirmed: " + problem
    box.tick()
    assert len(calls) == 1
    box.tick(advance=service.RECHECK_ROUNDS * 5 - 5)
    part = box.report()["vifs"]
    assert len(calls) == 2 and (part["state"], part["health"]) == ("problems", "degraded")
    assert part["detail"] == problem
    box.tick(advance=50)
    assert len(calls) == 2 and box.report()["vifs"]["health"] == "degraded"
    box.tick(advance=10)
    assert len(calls) == 3 and box.report()["vifs"]["health"] == "healthy"


def test_a_confirmed_problem_is_looked_at_again_within_a_minute_not_its_interval(
        tmp_path):
    """vif_interval is 5 min: a container deleted after its VIF was found broken left
    the box degraded for those 5 min (status exited 1 in an e2e run)."""
    problem = "1 problem(s) on br-int: vif-broken hhd1"
    box, calls = _checked_box(tmp_path, [problem, problem, None], interval=300)
    box.tick()
    box.tick(advance=service.RECHECK_ROUNDS * 5)
    assert len(calls) == 2 and box.report()["vifs"]["health"] == "degraded"
    box.tick(advance=service.CONFIRMED_RECHECK_ROUNDS * 5 - 5)
    assert len(calls) == 2
    box.tick(advance=5)
    assert len(calls) == 3 and box.report()["vifs"]["health"] == "healthy"


def test_a_problem_gone_at_the_sooner_run_never_degrades_the_box(tmp_path):
    """A port of a delete in progress: seen once, gone 15 s later."""
    box, calls = _checked_box(tmp_path, ["1 problem(s) on br-int: orphan hhd1", None])
    box.tick()
    box.tick(advance=service.RECHECK_ROUNDS * 5)
    part = box.report()["vifs"]
    assert len(calls) == 2 and (part["state"], part["health"]) == ("ok", "healthy")


def _vif_rows(*ports):
    return [("vifs", "check", False, "%d problem(s) on br-int" % len(ports),
             ["orphan %s" % port for port in ports])]


def test_another_ports_passing_problem_confirms_nothing(tmp_path):
    """A delete in progress leaves an orphan for a moment; the next boot's port, found
    at the sooner run, is another passing moment, not the same problem seen twice."""
    box, calls = _checked_box(tmp_path, [_vif_rows("hhd1"), _vif_rows("hhd2"),
                                         _vif_rows("hhd2", "hhd3")])
    box.tick()
    box.tick(advance=service.RECHECK_ROUNDS * 5)
    part = box.report()["vifs"]
    assert len(calls) == 2 and (part["state"], part["health"]) == ("checking again",
                                                                   "healthy")
    box.tick(advance=service.RECHECK_ROUNDS * 5)
    part = box.report()["vifs"]
    assert len(calls) == 3 and (part["state"], part["health"]) == ("problems", "degraded")


def test_after_a_dependency_restarts_its_dependents_are_repaired_in_start_order(tmp_path):
    """base <- dep <- compute, all three stopped: one repair per round, each once what
    it needs is RUNNING and healthy (never a dependent before what it needs)."""
    box = Box(tmp_path, hang_timeout=0)
    olds = {name: box.pid(name) for name in (BASE, DEP, COMPUTE)}
    for pid in olds.values():
        box.processes.status[pid] = "stopped"
    restarted = []
    for _ in range(3):
        box.tick()
        restarted.append(sorted(n for n, old in olds.items()
                                if box.pid(n) != old and n not in sum(restarted, [])))
        for name in restarted[-1]:
            box.processes.status[box.pid(name)] = "sleeping"
    assert restarted == [[BASE], [DEP], [COMPUTE]]


def test_a_repair_that_waits_for_what_it_needs_says_so(tmp_path):
    box = Box(tmp_path, hang_timeout=0, states={BASE: "STOPPED"})
    box.processes.status[box.pid(DEP)] = "stopped"
    box.tick()
    part = box.report()[DEP]
    assert part["health"] == "degraded"
    assert part["detail"].endswith("its repair waits for g:base (RUNNING and healthy first)")


def test_start_order_puts_what_a_program_needs_first():
    topo = topology.Topology(topology.Settings(), {p.name: p for p in PROGRAMS}, ())
    named = [supervisor_rpc.ProgramState(*n.split(":"), "RUNNING", 1, "")
             for n in (COMPUTE, AGENT, DEP, BASE)]
    assert [p.full_name for p in topo.start_order(named)] == [AGENT, BASE, DEP, COMPUTE]


def test_the_ledgers_rows_are_shown_and_never_the_boxs_health(tmp_path):
    from hybridhost.watcher import state

    box = Box(tmp_path)
    box.watcher.checks = {"slow": (lambda: [
        ("vifs", "check", True, "no problem"),
        ("ledger:kvm", "ledger", False, "0 instance(s); ledger unknown: refused")], 60)}
    box.tick()
    parts = box.report()
    assert parts["ledger:kvm"]["health"] == "degraded" and parts["vifs"]["health"] == "healthy"
    rows = [state.Part(**p) for p in parts.values()]
    assert state.overall(rows) == "healthy"


def test_a_stopped_program_is_not_pinged(box):
    """Its silence would make the round wait rpc_timeout and delay its repair."""
    box.processes.status[box.pid(COMPUTE)] = "stopped"
    box.tick()
    assert box.pinger.calls == [("q-agent", "h-kvm")]
    assert "is stopped (state stopped)" in box.report()[COMPUTE]["detail"]
