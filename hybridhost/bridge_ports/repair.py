"""Run a repair plan against the box, then read the bridge again until it shows the result.

The OVSDB cache sees a change shortly after the transaction that made it, so the
report after a repair is read again (up to ``settle`` seconds) while an action that
succeeded still shows up as needed.
"""

import dataclasses
import logging
import time

from hybridhost import exception
from hybridhost.bridge_ports import audit

LOG = logging.getLogger(__name__)

SETTLE_SECONDS = 5.0
POLL_SECONDS = 0.2


@dataclasses.dataclass(frozen=True)
class Outcome:
    action: audit.Action
    error: str | None = None

    @property
    def ok(self):
        return self.error is None


def _apply(box, action):
    try:
        box.apply(action)
    except exception.HybridhostError as err:
        LOG.warning("Could not %(kind)s %(port)s: %(err)s",
                    {"kind": action.kind, "port": action.port, "err": err})
        return Outcome(action, str(err))
    return Outcome(action)


def run(box, report, settle=SETTLE_SECONDS, clock=time.monotonic, sleep=time.sleep):
    """Apply ``report``'s repair plan on ``box``; returns (outcomes, the report after)."""
    actions = audit.plan_repair(report)
    if not actions:
        return (), report
    outcomes = tuple(_apply(box, action) for action in actions)
    done = {outcome.action for outcome in outcomes if outcome.ok}
    deadline = clock() + settle
    after = audit.audit(box.snapshot())
    while done & set(audit.plan_repair(after)) and clock() < deadline:
        sleep(POLL_SECONDS)
        after = audit.audit(box.snapshot())
    return outcomes, after
