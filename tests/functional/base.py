"""Shared helpers for functional tests: real daemons, skip locally, fail in CI."""

import os
import shutil
import time

import pytest

IN_CI = os.environ.get("CI") == "true"

#: A test box's [paths], all under ``{d}`` (its temporary directory), with the commands
#: beside this test's Python (``{bin}``).
PATHS_SECTION = """\
[paths]
config_dir = {d}/etc
state_root = {d}/state
log_root = {d}/log
run_root = {d}/run
bin_dir = {bin}
"""


def require(condition, reason):
    """Skip (locally) or fail (CI=true) when a real component is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail("CI=true but %s" % reason)
    pytest.skip(reason)


def require_root():
    require(os.geteuid() == 0, "needs root (it starts dockerd and Open vSwitch)")


def require_binaries(*names):
    missing = [name for name in names if not shutil.which(name)
               and not os.access(os.path.join("/usr/sbin", name), os.X_OK)]
    require(not missing, "missing binaries: %s (see .ci/run for the packages)"
            % ", ".join(missing))


def wait_until(predicate, timeout, interval=0.5, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (
        timeout, what, last))
