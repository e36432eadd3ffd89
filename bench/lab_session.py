"""What a bench that boots servers on the lab does first: SIGTERM (e.g. from ``timeout``)
unwinds like Ctrl-C, so that what was booted is deleted; the lab is checked to be up; the
box's two computes are resolved."""

import signal
import sys

from bench import density_nova as nova
from tests.e2e import lab as e2e


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


def complain(prog, reason):
    print("bench/%s: %s" % (prog, reason), file=sys.stderr)


def open_lab(prog, config_file):
    """``(lab, targets)``, or None once it has said on stderr why the bench cannot run."""
    signal.signal(signal.SIGTERM, _terminated)
    reason = e2e.why_not_up(config_file)
    if reason:
        complain(prog, reason)
        return None
    lab = e2e.connect(config_file)
    try:
        return lab, nova.resolve(lab)
    except ValueError as err:
        complain(prog, err)
        return None
