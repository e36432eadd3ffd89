"""The box's own programs end on SIGTERM, within seconds, instead of being SIGKILLed by
supervisord at ``[supervisor] stop_timeout``: that is how long every 'down' and every
restart of them took. neutron's agent (threading mode) waited for os-ken's threads, and
nova 34's libvirt driver for its connection-event thread (hybridhost/neutron_agent/
shutdown.py, hybridhost/virt/libvirt/driver.py). Each test stops one program, reads
supervisord's verdict in its log, and starts it again."""

import os

import pytest

from hybridhost import box
from tests.e2e import lab as e2e

#: What each program logs once it is working again after a start.
AGENT_LOOPING = "Agent rpc_loop - iteration:"
COMPUTE_STARTED = "Looking for unclaimed instances stuck in BUILDING status"


def _sides(lab):
    return {"agent": (lab.plan.agent, AGENT_LOOPING),
            "kvm": (lab.plan.kvm, COMPUTE_STARTED),
            "docker": (lab.plan.docker, COMPUTE_STARTED)}


@pytest.mark.parametrize("side", ["agent", "kvm", "docker"])
def test_the_program_exits_on_sigterm(lab, side):
    part, working = _sides(lab)[side]
    supervisord_log = os.path.join(lab.conf.paths.log_root, "supervisord.log")
    stopped_at = e2e.log_size(supervisord_log)
    client = box.patient_client(lab.conf)
    full_name = next(p.full_name for p in client.programs() if p.name == part.program)
    client.ensure_stopped(full_name, wait=True)
    started_at = e2e.log_size(part.log_file)
    try:
        said = e2e.log_since(supervisord_log, stopped_at)
        assert "stopped: %s (exit status 0)" % part.program in said, said
    finally:
        client.start(full_name, wait=True)
    # Working again before the next test boots through it.
    e2e.wait_until(lambda: working in e2e.log_since(part.log_file, started_at),
                   timeout=180, what="%s working again" % part.program)
