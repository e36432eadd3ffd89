"""The slower checks, run every ``vif_interval`` seconds in a child process
('hybridhost-watcher --slow-checks'): the integration bridge's VIFs (and their
repair), each side's instances and its capacity ledger.

Their libraries (ovsdbapp, the Docker SDK, pyroute2, oslo.privsep, openstacksdk,
libvirt-python: about 60 MB) would otherwise stay in the listener for as long as the box
runs; the child loads them for the second a check takes and exits. It is given what the
last check found to repair (a VIF is repaired when two checks in a row find it) and
answers one JSON object, which becomes status rows and metrics here.
"""

import json
import logging
import subprocess

from hybridhost.watcher import state

LOG = logging.getLogger(__name__)

#: Seconds one run may take: OVSDB, Docker, namespaces, repairs and placement.
TIMEOUT = 60
#: The sides of the box, as the ledger names them.
SIDES = ("docker", "kvm")
#: The kind of a side's row: 'hybridhost status' shows it, the box's health ignores it
#: (the ledger never changes status's exit code).
LEDGER = state.LEDGER


class ChildFailed(Exception):
    """The child did not answer a JSON object; ``str()`` says why."""


class SlowChecks:
    """``argv``: the child's command line; ``metrics``: the watcher's."""

    def __init__(self, argv, metrics, timeout=TIMEOUT):
        self.argv, self.metrics, self.timeout = list(argv), metrics, timeout
        self._seen = []

    def run_child(self):
        request = json.dumps({"seen": self._seen})
        try:
            proc = subprocess.run(self.argv, input=request, capture_output=True, text=True,
                                  timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise ChildFailed("the slow checks' child: %s" % err) from err
        if proc.returncode != 0:
            raise ChildFailed("the slow checks' child exited %d: %s" % (
                proc.returncode, _last_line(proc.stderr)))
        try:
            found = json.loads(proc.stdout)
        except ValueError as err:
            raise ChildFailed("the slow checks' child answered no JSON: %s" % err) from err
        if not isinstance(found, dict):
            raise ChildFailed("the slow checks' child answered %s" % type(found).__name__)
        return found

    def __call__(self):
        """``[(part, kind, ok, detail[, problems])]``: the rows of one run."""
        found = self.run_child()
        vifs = found.get("vifs")
        if vifs and "seen" in vifs:
            self._seen = vifs["seen"]
        if vifs and "figures" in vifs:
            self.metrics.bridge(vifs["figures"])
        instances = found.get("instances") or {}
        self.metrics.sides(instances, found.get("ledger"))
        return rows(found)


def _last_line(text):
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(nothing on stderr)"


def rows(found):
    """The status rows of the child's answer: ``vifs`` (a check) and one
    ``ledger:<side>`` per side (kind ledger: shown, never the box's health)."""
    found_rows = []
    vifs = found.get("vifs")
    if vifs is not None:
        problem = vifs.get("error") or vifs.get("reason")
        found_rows.append(("vifs", "check", problem is None, problem or "no problem",
                           vifs.get("problems") or None))
    instances = found.get("instances") or {}
    ledger = found.get("ledger")
    for side in SIDES:
        if side in instances or ledger is not None:
            part, ok, detail = side_row(side, instances.get(side), ledger)
            found_rows.append((part, LEDGER, ok, detail))
    return found_rows


def _count(count):
    if isinstance(count, str):
        return "instances unknown (%s)" % count
    return "instances ?" if count is None else "%d instance(s)" % count


def side_row(side, count, ledger):
    """``(ledger:<side>, ok, detail)``: the side's instances and, per resource class,
    used / capacity (free) as placement holds them."""
    bits = [_count(count)]
    ok = not isinstance(count, str)
    if ledger is None:
        return "ledger:%s" % side, ok, "; ".join(bits + ["no ledger configured"])
    if ledger.get("placement") != "read":
        reason = ledger.get("unknown") or ledger.get("error") or "placement not read"
        return "ledger:%s" % side, False, "; ".join(bits + ["ledger unknown: %s" % reason])
    for line in ledger.get("resources", ()):
        if line["side"] != side:
            continue
        bits.append("%s %s/%s %s (%s free)" % (line["resource"], _figure(line["used"]),
                                               _figure(line["capacity"]), line["unit"],
                                               _figure(line["free"])))
        ok = ok and line.get("matches_plan") is not False and not line.get("over_used")
    return "ledger:%s" % side, ok, "; ".join(bits)


def _figure(value):
    return "?" if value is None else str(value)
