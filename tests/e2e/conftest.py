"""The running lab every end-to-end test uses (skipped locally, a failure in CI)."""

import pytest

from tests.e2e import lab as e2e
from tests.functional import base


@pytest.fixture(scope="session")
def lab():
    base.require_root()
    base.require((reason := e2e.why_not_up()) is None, reason or "")
    lab = e2e.connect()
    e2e.delete_leftover_servers(lab)
    e2e.delete_leftover_images(lab)
    yield lab
    lab.conn.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Stop the run when a failed test leaves the lab down: every later test would only
    wait out its timeouts against a dead lab, and bury the failure that matters."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or "lab" not in getattr(item, "fixturenames", ()):
        return
    reason = e2e.why_not_up()
    if reason is not None:
        item.session.shouldstop = "the lab is down after %s (%s): later tests not run" % (
            item.nodeid, reason)
