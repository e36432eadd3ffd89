"""The integration bridge's ports as a part of the box ('hybridhost vifs', every
``vif_interval`` seconds, in the watcher's child: see ``slow``), and their repair.

A problem 'hybridhost vifs --repair' can fix (a running container's VIF missing or
broken: re-plug; an orphan port of the Docker side: remove) is repaired when the next
check still finds it, so that a port being plugged by a boot in progress is left alone.
Never anything but the Docker side's own ports (bridge_ports refuses the rest).
"""

import collections
import logging

from hybridhost.bridge_ports import audit
from hybridhost.bridge_ports import repair

LOG = logging.getLogger(__name__)


class VifCheck:
    """``connect()`` gives a ``bridge_ports.sources.LiveBox`` (or a fake)."""

    def __init__(self, connect, repair_them=True, observe=None, seen=()):
        self.connect = connect
        self.repair_them = repair_them
        # observe(figures(snapshot, report)): the metrics' view of each check.
        self.observe = observe or (lambda found: None)
        self._box = None
        # What the last check found to repair ([kind, port, instance]: the child
        # process that runs one check is given the last one's).
        self._seen = {audit.Action(*item) for item in seen}
        self.problems = []

    @property
    def seen(self):
        return sorted([a.kind, a.port, a.instance] for a in self._seen)

    def _snapshot_report(self):
        if self._box is None:
            self._box = self.connect()
        snapshot = self._box.snapshot()
        report = audit.audit(snapshot)
        self.observe(figures(snapshot, report))
        return report

    def __call__(self):
        """None when the bridge has no problem, else a one-line account (the probe's
        reason); repairs what two checks in a row found repairable."""
        try:
            report = self._snapshot_report()
        except Exception:
            self._box = None  # connect again next time
            raise
        actions = set(audit.plan_repair(report))
        due = actions & self._seen
        self._seen = actions - due
        if due and self.repair_them:
            report = self._repair(report, due)
        self.problems = problem_keys(report)
        return summary(report) if report.problems else None

    def _repair(self, report, due):
        for action in sorted(due, key=lambda a: (a.kind, a.port)):
            LOG.warning("vifs: %s %s of instance %s, because two checks in a row found it "
                        "needed", action.kind, action.port, action.instance or "-")
        outcomes, after = repair.run(self._box, report)
        for outcome in outcomes:
            if not outcome.ok:
                LOG.error("vifs: %s %s did not work: %s", outcome.action.kind,
                          outcome.action.port, outcome.error)
        return after


def figures(snapshot, report):
    """What the metrics show of one check (plain data: it crosses a process boundary)."""
    return {"ports": report.owner_counts(),
            "problems": dict(collections.Counter(p.code for _e, p in report.problems)),
            "containers": dict(collections.Counter(c.status for c in snapshot.containers))}


def problem_keys(report):
    """``["<code> <port>", ...]``: each problem's identity, sorted (the watcher confirms
    a problem when two checks in a row find the same one)."""
    return sorted({"%s %s" % (problem.code, entry.port) for entry, problem in report.problems})


def summary(report):
    codes = problem_keys(report)
    return "%d problem(s) on %s: %s" % (len(report.problems), report.bridge,
                                        ", ".join(codes[:5]) + (", ..." if len(codes) > 5
                                                                else ""))
