"""The running lab every end-to-end test uses (skipped locally, a failure in CI)."""

import pytest

from tests.e2e import lab as e2e
from tests.functional import base


@pytest.fixture(scope="session")
def lab():
    base.require_root()
    base.require((reason := e2e.why_not_up()) is None, reason or "")
    lab = e2e.connect()
    yield lab
    lab.conn.close()
