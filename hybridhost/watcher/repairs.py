"""What to do about a program, decided from what was observed (pure: no I/O, time given).

A problem must last its timeout before it is repaired (a process stopped, state T:
``hang_timeout``; a server silent on RPC: ``rpc_hang_timeout``; FATAL: at once).
Repairs of one program are spaced by ``repair_backoff``, doubled each time. Crashes
that supervisord restarted count as repairs too: past ``max_repairs`` within
``reset_after`` seconds the program is given up (stopped and reported failed) rather
than restarted forever, until someone starts it again and it runs healthy.
"""

import dataclasses

from hybridhost.watcher import rpc

HEALTHY, DEGRADED, DOWN, FAILED = "healthy", "degraded", "down", "failed"
#: Restart: stop (TERM, then KILL after the stop timeout) and start.
RESTART = "restart"
#: A stopped process: SIGKILL it, then start it. A graceful stop would wait the whole
#: stopwaitsecs: a nova-compute continued after SIGSTOP does not finish its shutdown
#: within supervisord's 30 s (on the lab the repair took 48 s instead of about 15).
KILL_RESTART = "kill-restart"
#: supervisord gave up starting it (FATAL): start it again.
START = "start"
#: Too many repairs: stop it and report it failed.
GIVE_UP = "give-up"
RUNNING = "RUNNING"
#: Rounds follow supervisord's TICK_5 events, which do not land exactly 5 s apart: a
#: problem that lasted its timeout but this much is due, rather than a round later.
SLACK = 1.0
_STATE_HEALTH = {RUNNING: HEALTHY, "STARTING": DEGRADED, "BACKOFF": DEGRADED,
                 "STOPPING": DEGRADED}


@dataclasses.dataclass(frozen=True)
class Observation:
    state: str                      # supervisord's state name
    process: object = None          # probes.ProcessFacts of a RUNNING program
    rpc: str | None = None          # rpc.SILENT when its server did not answer
    rpc_reason: str | None = None
    #: What it needs that is not RUNNING and healthy yet: its repair waits for them.
    waiting_for: tuple = ()


@dataclasses.dataclass(frozen=True)
class Decision:
    action: str | None
    reason: str
    health: str


@dataclasses.dataclass
class _Record:
    problem: str | None = None
    since: float | None = None
    troubles: list = dataclasses.field(default_factory=list)
    next_repair: float = 0.0
    failed: str | None = None


def _problem(settings, obs):
    """``(kind, timeout, action, reason)`` of what is wrong, or None."""
    proc = obs.process
    if obs.state == "FATAL":
        return "fatal", 0, START, "supervisord gave up starting it (FATAL)"
    if obs.state != RUNNING or proc is None:
        return None
    if proc.dead:
        return ("dead", settings.hang_timeout, RESTART,
                "its process %d is gone or a zombie while supervisord says RUNNING" % proc.pid)
    if proc.hung:
        return ("stopped", settings.hang_timeout, KILL_RESTART,
                "its process %d is stopped (state %s)" % (proc.pid, proc.status))
    if obs.rpc == rpc.SILENT:
        return "rpc", settings.rpc_hang_timeout, RESTART, obs.rpc_reason
    return None


class Repairs:
    def __init__(self, settings):
        self.settings = settings
        self._records = {}

    def _record(self, name):
        return self._records.setdefault(name, _Record())

    def failed(self, name):
        """Why ``name`` was given up, or None."""
        record = self._records.get(name)
        return record.failed if record else None

    def _recent(self, record, now):
        record.troubles = [t for t in record.troubles if now - t < self.settings.reset_after]
        return record.troubles

    def crashed(self, name, now):
        """``name`` exited unexpectedly from RUNNING (supervisord restarts it)."""
        record = self._record(name)
        if record.failed:
            return Decision(None, record.failed, FAILED)
        troubles = self._recent(record, now)
        troubles.append(now)
        if len(troubles) > self.settings.max_repairs:
            return self._give_up(record, "it crashed %d times within %d s" % (
                len(troubles), self.settings.reset_after))
        return Decision(None, "it exited unexpectedly; supervisord restarts it (trouble "
                        "%d of %d within %d s)" % (len(troubles), self.settings.max_repairs,
                                                   self.settings.reset_after), DEGRADED)

    def _give_up(self, record, why):
        record.failed = "given up: %s; start it by hand once fixed" % why
        return Decision(GIVE_UP, record.failed, FAILED)

    def assess(self, name, obs, now):
        record = self._record(name)
        problem = _problem(self.settings, obs)
        if record.failed:
            if obs.state == RUNNING and problem is None:
                record.failed, record.troubles = None, []
                return Decision(None, "started again after it was given up: watched "
                                "again", HEALTHY)
            return Decision(None, record.failed, FAILED)
        if problem is None:
            record.problem = record.since = None
            return Decision(None, "", _STATE_HEALTH.get(obs.state, DOWN))
        kind, timeout, action, reason = problem
        if record.problem != kind:
            record.problem, record.since = kind, now
        waited = now - record.since
        if waited < timeout - SLACK:
            return Decision(None, "%s for %.0f s (repair after %d s)" % (
                reason, waited, timeout), DEGRADED)
        if obs.waiting_for:
            return Decision(None, "%s; its repair waits for %s (RUNNING and healthy "
                            "first)" % (reason, ", ".join(obs.waiting_for)), DEGRADED)
        return self._repair(record, action, reason, now)

    def _repair(self, record, action, reason, now):
        troubles = self._recent(record, now)
        if len(troubles) >= self.settings.max_repairs:
            return self._give_up(record, "%s, after %d repairs within %d s" % (
                reason, len(troubles), self.settings.reset_after))
        if now < record.next_repair:
            return Decision(None, "%s; next repair in %.0f s (back-off)" % (
                reason, record.next_repair - now), DEGRADED)
        troubles.append(now)
        record.next_repair = now + self.settings.repair_backoff * 2 ** (len(troubles) - 1)
        record.problem = record.since = None
        return Decision(action, "%s (repair %d of %d)" % (
            reason, len(troubles), self.settings.max_repairs), DEGRADED)
