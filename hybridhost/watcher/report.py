"""One status for the box (pure): supervisord's programs as they are now, each with the
watcher's last verdict when it is fresh and about the same state, the daemons the
watcher probes, and the watcher itself; a table and a dict for --json.

Without a fresh report from the watcher, a program's health is only what supervisord's
state says, and the watcher's own row is degraded: a hang would go unseen.
"""

import time

from hybridhost.watcher import repairs
from hybridhost.watcher import state

#: A report older than this many rounds (and 15 s) is stale.
STALE_ROUNDS = 3
COLUMNS = ("PART", "STATE", "HEALTH", "LAST CHECK", "DETAIL")
_STATE_HEALTH = {"RUNNING": repairs.HEALTHY, "STARTING": repairs.DEGRADED,
                 "BACKOFF": repairs.DEGRADED, "STOPPING": repairs.DEGRADED}


def _freshness(report, now):
    """``(parts or {}, why not fresh or None)``."""
    if report is None:
        return {}, "no report from the watcher"
    written, interval, parts = report
    age = now - written
    if age > max(STALE_ROUNDS * interval, 15):
        return {}, "its last report is %.0f s old" % age
    return parts, None


def _program(live, verdict):
    if verdict is not None and verdict.state == live.state:
        return state.Part(live.full_name, "program", live.state, verdict.health,
                          verdict.last_check, verdict.detail)
    if verdict is not None and verdict.health == repairs.FAILED:
        return state.Part(live.full_name, "program", live.state, repairs.FAILED,
                          verdict.last_check, verdict.detail)
    return state.Part(live.full_name, "program", live.state,
                      _STATE_HEALTH.get(live.state, repairs.DOWN), None, live.description)


def _watcher_row(name, live, why, report):
    if why is None:
        return state.Part(name, "watcher", live.state if live else "?", repairs.HEALTHY,
                          report[0], "last round %s" % _ago(report[0]))
    where = live.state if live else "not in supervisord"
    return state.Part(name, "watcher", where, repairs.DEGRADED,
                      report[0] if report else None, "%s: hangs go unseen" % why)


def parts(programs, error, report, watcher_name=None, now=None):
    """Every row of the status. ``report`` is ``state.read()``'s; ``watcher_name`` the
    listener's 'group:name' when the box runs one."""
    now = time.time() if now is None else now
    if error is not None:
        return [state.Part("supervisord", "supervisord", "unreachable", repairs.DOWN,
                           None, str(error))]
    fresh, why = _freshness(report, now)
    rows = [state.Part("supervisord", "supervisord", "RUNNING", repairs.HEALTHY, now, "")]
    live = {p.full_name: p for p in programs}
    rows += [_program(p, fresh.get(p.full_name)) for p in programs
             if p.full_name != watcher_name]
    rows += [p for p in fresh.values() if p.kind in ("service", "check", state.LEDGER)]
    if watcher_name:
        rows.append(_watcher_row(watcher_name, live.get(watcher_name), why, report))
    return rows


def _ago(when, now=None):
    if when is None:
        return "-"
    seconds = max(0, (time.time() if now is None else now) - when)
    return "%.0fs ago" % seconds


def table(rows, now=None):
    cells = [COLUMNS] + [(r.part, r.state, r.health, _ago(r.last_check, now), r.detail)
                         for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS) - 1)]
    return ["  ".join([c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
                      + [row[-1]]).rstrip() for row in cells]


def as_dicts(rows):
    return [{"part": r.part, "kind": r.kind, "state": r.state, "health": r.health,
             "last_check": r.last_check, "detail": r.detail} for r in rows]
