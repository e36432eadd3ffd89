"""The watcher: on each tick a round of probes, decisions and repairs; on each process
state change, crash counting and a check of what depends on a program started again.

Every decision is logged with its reason. I/O goes through what is passed in (the
supervisord client, the RPC pinger, the probes), so the rounds run against fakes.
"""

import dataclasses
import logging
import os
import time

from hybridhost import exception
from hybridhost.watcher import probes
from hybridhost.watcher import repairs
from hybridhost.watcher import rpc
from hybridhost.watcher import slow
from hybridhost.watcher import state
from hybridhost.watcher.metrics import NullMetrics

LOG = logging.getLogger(__name__)
STATE_PREFIX = "PROCESS_STATE_"
#: The Deadlines key of the one call that pings every RPC server of a round.
RPC_BATCH = "rpc"
#: oslo.messaging's control_exchange when a program's section names none.
DEFAULT_EXCHANGE = "openstack"
#: A check that finds a problem runs again this many rounds later to confirm it.
RECHECK_ROUNDS = 3
#: A confirmed problem is looked at again this many rounds later (a minute with the
#: default check_interval), not only at the check's own interval (vif_interval: 5 min):
#: the box's health must not stay degraded for minutes after the problem has gone.
CONFIRMED_RECHECK_ROUNDS = 12
#: How long a kill-restart waits for supervisord to see the killed process exit.
KILL_POLLS, KILL_POLL_INTERVAL = 50, 0.1


class Watcher:
    def __init__(self, topology, supervisor, pinger=None, metrics=None, kinds=None,
                 processes=None, deadlines=None, clock=time.monotonic, wall=time.time,
                 own_name=None, checks=None):
        self.topology, self.settings = topology, topology.settings
        self.supervisor, self.pinger = supervisor, pinger
        self.metrics = metrics or NullMetrics()
        self.kinds = kinds or probes.KINDS
        self.processes = processes or probes.Processes()
        self.deadlines = deadlines or probes.Deadlines()
        self.repairs = repairs.Repairs(self.settings)
        self.clock, self.wall, self.own_name = clock, wall, own_name
        self.next_round = 0.0
        self.sleep = time.sleep
        self.seen_running = set()
        # Programs the watcher SIGKILLed: their exit is not a crash.
        self._killed = set()
        self.health = {}
        # {name: (call() -> reason, None or rows, interval)}, run in the background when
        # due; the last run's Parts kept.
        self.checks, self._checked, self._check_due = checks or {}, {}, {}
        self._running_checks = {}
        # {part: problems} a check found wrong in its last run: wrong again at the next,
        # with a problem in common (or None: a part that names none), they count.
        self._suspects = {}

    def handle(self, event):
        if event.name.startswith("TICK"):
            if self.clock() >= self.next_round:
                self.round()
        elif event.name.startswith(STATE_PREFIX):
            self.on_process_state(event)
        else:
            LOG.debug("event %s ignored", event.name)

    def on_process_state(self, event):
        name, new = event.process, event.name[len(STATE_PREFIX):]
        if name == self.own_name:
            return
        LOG.debug("%s: %s -> %s", name, event.payload.get("from_state"), new)
        if new == "EXITED" and name in self._killed:
            self._killed.discard(name)
            LOG.debug("%s exited: the watcher killed it", name)
        elif new == "EXITED" and event.payload.get("expected") == "0":
            self._crashed(name)
        elif new == repairs.RUNNING and name in self.seen_running:
            dependents = self.topology.dependents(name)
            if dependents:
                LOG.info("%s is RUNNING again: checking what depends on it now (%s)",
                         name, ", ".join(dependents))
                self.round()
        if new == repairs.RUNNING:
            self.seen_running.add(name)

    def _crashed(self, name):
        self.metrics.crash(name)
        decision = self.repairs.crashed(name, self.clock())
        LOG.warning("%s crashed: %s", name, decision.reason)
        if decision.action == repairs.GIVE_UP:
            self._act(name, decision)

    def round(self):
        """Probe everything once, repair what is due, publish the result."""
        now, wall = self.clock(), self.wall()
        # A tick a little early must not skip a round (and double the interval).
        self.next_round = now + self.settings.check_interval - repairs.SLACK
        try:
            programs = [p for p in self.supervisor.programs() if p.full_name != self.own_name]
        except (exception.SupervisorUnreachable, exception.SupervisorFault) as err:
            LOG.warning("round skipped: %s", err)
            self._publish([state.Part("supervisord", "supervisord", "unreachable",
                                      repairs.DOWN, wall, str(err))], wall)
            return
        facts = self._facts(programs)
        answers = self._probe(programs, facts)
        parts = [state.Part("supervisord", "supervisord", repairs.RUNNING, repairs.HEALTHY,
                            wall, self.supervisor.url)]
        parts += self._programs(programs, facts, answers, now, wall)
        parts += [self._service(s, answers[_skey(s)], wall) for s in self.topology.services]
        parts += self._run_checks(now, wall)
        self.processes.forget_others(p.pid for p in programs if p.pid)
        self._publish(parts, wall)

    def _facts(self, programs):
        """``{program: ProcessFacts}`` of the RUNNING programs' processes."""
        found = {}
        for p in programs:
            if p.state == repairs.RUNNING and p.pid:
                self.seen_running.add(p.full_name)
                found[p.full_name] = self.processes.facts(p.pid)
                self.metrics.process(p.full_name, found[p.full_name])
        return found

    def _probe(self, programs, facts):
        timeout = self.settings.probe_timeout
        calls = {_skey(s): _bind(self.kinds[s.kind], s.target, timeout)
                 for s in self.topology.services}
        pinged = self._ping_targets(programs, facts)
        if pinged:
            calls[RPC_BATCH] = _ping_all(self.pinger, list(pinged.values()))
        deadline = max(timeout, self.settings.rpc_timeout) + 1
        answers = self.deadlines.run(calls, deadline) if calls else {}
        answers.update(_rpc_answers(answers.pop(RPC_BATCH, None), pinged))
        return _blame_the_bus(answers)

    def _ping_targets(self, programs, facts):
        """``{program: (exchange, topic, server)}`` of the RUNNING programs to ping: not
        one whose process is stopped or gone (its silence would only make the round wait
        rpc_timeout, and delay the repair its state already calls for)."""
        if self.pinger is None:
            return {}
        targets = {}
        for p in programs:
            spec = self.topology.program(p.full_name)
            process = facts.get(p.full_name)
            if process is None or process.hung or process.dead:
                continue
            if spec.rpc_topic and spec.rpc_server:
                targets[p.full_name] = (spec.rpc_exchange or DEFAULT_EXCHANGE,
                                        spec.rpc_topic, spec.rpc_server)
        return targets

    def _programs(self, programs, facts, answers, now, wall):
        """Each program's Part, decided in start order (what a program needs first): a
        program's repair waits until what it needs is RUNNING and healthy, so that after
        a dependency restarts its dependents are restarted in order, not all at once."""
        healthy, parts = set(), {}
        present = {p.full_name for p in programs}
        for program in self.topology.start_order(programs):
            waiting = tuple(need for need in self.topology.program(program.full_name).needs
                            if need in present and need not in healthy)
            part = self._program(program, facts.get(program.full_name), answers, now,
                                 wall, waiting)
            if part.health == repairs.HEALTHY:
                healthy.add(part.part)
            parts[part.part] = part
        return [parts[p.full_name] for p in programs]

    def _program(self, program, facts, answers, now, wall, waiting=()):
        name = program.full_name
        kind, reason = _rpc_outcome(answers.get(_rkey(name)))
        decision = self.repairs.assess(name, repairs.Observation(
            program.state, facts, kind, reason, waiting), now)
        if decision.action:
            self._act(name, decision)
        health = decision.health
        if health == repairs.HEALTHY and kind == rpc.BUS:
            health = repairs.DEGRADED
        return state.Part(name, "program", program.state, health, wall,
                          _detail(facts, answers.get(_rkey(name)), decision))

    def _act(self, name, decision):
        LOG.warning("%s: %s, because %s", name, decision.action, decision.reason)
        try:
            if decision.action == repairs.KILL_RESTART:
                self._kill_and_start(name)
            elif decision.action == repairs.RESTART:
                self.supervisor.restart(name)
            elif decision.action == repairs.START:
                self.supervisor.ensure_started(name)
            elif decision.action == repairs.GIVE_UP:
                self.supervisor.ensure_stopped(name)
                LOG.error("%s is failed: %s", name, decision.reason)
        except exception.HybridhostError as err:
            LOG.error("%s: %s did not work: %s", name, decision.action, err)
            self._killed.discard(name)
            return
        self.metrics.repair(name, decision.action)

    def _pid(self, name):
        return {p.full_name: p.pid for p in self.supervisor.programs()}.get(name, 0)

    def _kill_and_start(self, name):
        """SIGKILL through supervisord; once it has seen the exit, start the program
        (unless its autorestart already did). The exit is not counted as a crash."""
        pid = self._pid(name)
        self._killed.add(name)
        self.supervisor.signal(name, "KILL")
        for _ in range(KILL_POLLS):
            if self._pid(name) != pid:
                break
            self.sleep(KILL_POLL_INTERVAL)
        self.supervisor.ensure_started(name)

    def _run_checks(self, now, wall):
        """Start the checks that are due, in the background; the rows of the last run
        of each (a run that is not over when the round ends shows at a later one)."""
        for name, (call, interval) in self.checks.items():
            if name not in self._running_checks and now >= self._check_due.get(name, 0):
                self._running_checks[name] = self.deadlines.submit(call)
                self._check_due[name] = now + interval - repairs.SLACK
            future = self._running_checks.get(name)
            if future is not None and future.done():
                del self._running_checks[name]
                self._checked[name] = self._confirm(name, self._check_parts(
                    name, probes.answer_of(future, slow.TIMEOUT), wall), now)
        return [part for parts in self._checked.values() for part in parts]

    def _confirm(self, name, parts, now):
        """A check's problem counts once its next run, brought forward to RECHECK_ROUNDS
        rounds later, still finds it: a port of a boot or a delete in progress, or one
        the driver re-plugs meanwhile, is a problem only for a moment. A part that names
        its problems (the VIF check: one per port) counts only when both runs found one
        of them: another port's passing moment confirms nothing."""
        confirmed = []
        for part, problems in parts:
            if part.health == repairs.HEALTHY or part.kind == state.LEDGER:
                if part.health == repairs.HEALTHY:
                    self._suspects.pop(part.part, None)
                confirmed.append(part)
                continue
            seen_before = (part.part in self._suspects
                           and _same_problem(self._suspects[part.part], problems))
            self._suspects[part.part] = problems
            if seen_before:
                self._bring_forward(name, now, CONFIRMED_RECHECK_ROUNDS)
                confirmed.append(part)
                continue
            self._bring_forward(name, now, RECHECK_ROUNDS)
            LOG.info("%s: %s; checking again in about %d s", part.part, part.detail,
                     RECHECK_ROUNDS * self.settings.check_interval)
            confirmed.append(dataclasses.replace(
                part, state="checking again", health=repairs.HEALTHY,
                detail="unconfirmed: %s" % part.detail))
        return confirmed

    def _bring_forward(self, name, now, rounds):
        """Run check ``name`` again at the latest ``rounds`` rounds from ``now``."""
        recheck = now + rounds * self.settings.check_interval
        self._check_due[name] = min(self._check_due.get(name, recheck), recheck)

    def _check_parts(self, name, answer, wall):
        """A check answers None (no problem), a reason, or ``[(part, kind, ok, detail[,
        problems])]``; ``[(Part, problems or None)]``."""
        found = answer.reason if isinstance(answer.reason, list) else [
            (name, "check", answer.ok, "no problem" if answer.ok else answer.reason)]
        self.metrics.probe("check:%s" % name, probes.Answer(
            None if all(row[2] for row in found) else "problems", answer.latency))
        return [_part_of(row, wall) for row in found]

    def _service(self, service, answer, wall):
        self.metrics.probe(_skey(service), answer)
        if answer.ok:
            return state.Part(service.name, "service", "answers", repairs.HEALTHY, wall,
                              "answered in %.0f ms" % (answer.latency * 1000))
        return state.Part(service.name, "service", "no answer", repairs.DOWN, wall,
                          answer.reason)

    def _publish(self, parts, wall):
        for part in parts:
            self.metrics.part(part)
            if self.health.get(part.part) != part.health:
                LOG.info("%s is %s%s", part.part, part.health,
                         ": %s" % part.detail if part.detail else "")
                self.health[part.part] = part.health
        try:
            state.write(self.settings.state_file, parts, wall, self.settings.check_interval,
                        os.getpid())
        except OSError as err:
            LOG.error("cannot write %s: %s", self.settings.state_file, err)


def _skey(service):
    return "service:%s" % service.name


def _rkey(name):
    return "rpc:%s" % name


def _bind(probe, target, timeout):
    return lambda: probe(target, timeout)


def _ping_all(pinger, targets):
    def call():
        # The batch's answers ride in the Answer's reason: see _rpc_answers.
        return pinger.ping_all(targets)
    return call


def _rpc_answers(batch, pinged):
    """One ``rpc:<program>`` Answer per pinged program from the batch's Answer: a batch
    that failed or did not end in time is the bus's fault, not the programs'."""
    if batch is None:
        return {}
    if not isinstance(batch.reason, dict):
        reason = batch.reason or "no answer"
        return {_rkey(name): probes.Answer((rpc.BUS, "the RPC ping did not end: %s" % reason),
                                           batch.latency) for name in pinged}
    found = {}
    for name, target in pinged.items():
        kind, note, latency = batch.reason.get(target, (rpc.BUS, "not pinged", None))
        found[_rkey(name)] = probes.Answer(None if kind is None else (kind, note),
                                           batch.latency if latency is None else latency)
    return found


def _rpc_outcome(answer):
    """``(kind, reason)`` of a ping's Answer: kind None (answered or not pinged),
    rpc.SILENT or rpc.BUS."""
    if answer is None or answer.ok:
        return None, None
    if isinstance(answer.reason, tuple):
        return answer.reason
    return rpc.SILENT, answer.reason


def _blame_the_bus(answers):
    """When no RPC server answered at all (and there are several), the bus is at fault,
    not each of them: none is counted as hung."""
    pings = {key: a for key, a in answers.items() if key.startswith("rpc:")}
    if len(pings) < 2 or any(a.ok for a in pings.values()):
        return answers
    LOG.warning("no RPC server answered its ping: taken as the RPC bus's fault")
    blamed = {key: probes.Answer((rpc.BUS, "no RPC server answered (the bus?): %s" % (
        _rpc_outcome(a)[1],)), a.latency) for key, a in pings.items()}
    return dict(answers, **blamed)


def _detail(facts, ping, decision):
    bits = []
    if facts is not None and facts.present:
        bits.append("pid %d %s" % (facts.pid, facts.status or "?"))
        if facts.rss is not None:
            bits.append("%.0f MiB, %.0f%% CPU" % (facts.rss / 2 ** 20, facts.cpu_percent or 0))
    if ping is not None:
        kind, reason = _rpc_outcome(ping)
        bits.append("rpc ping %.0f ms" % (ping.latency * 1000) if kind is None
                    else "rpc: %s" % reason)
    if decision.reason:
        bits.append(decision.reason)
    return "; ".join(bits)


def _part_of(row, wall):
    """``(Part, problems or None)`` of one row a check answered."""
    part, kind, ok, detail, *named = row
    problems = named[0] if named else None
    return (state.Part(part, kind, "ok" if ok else "problems",
                       repairs.HEALTHY if ok else repairs.DEGRADED, wall, detail),
            None if problems is None else frozenset(problems))


def _same_problem(earlier, now):
    """Two runs found the same problem: any in common, or a part that names none."""
    return earlier is None or now is None or bool(earlier & now)
