"""Containers a dockerd restart stopped, run again.

Without ``--live-restore`` dockerd stops every container when it stops, and nothing
starts them again (their restart policy is ``no``: nova decides). nova still records
their instances running. When the Docker engine answers again (the driver's events
stream is open again after being lost), each of this service's containers that is
exited while nova's database says its instance is ACTIVE with no task in progress is
started again with its network, as ``resume_state_on_host_boot`` does when
nova-compute starts. A container nova stopped, or one in the middle of an operation,
is left alone; one that cannot be started is logged, and nova hears of its stop.
"""

import logging

LOG = logging.getLogger(__name__)

STOPPED = ("exited",)
#: nova's vm_states.ACTIVE (nova is not imported here).
ACTIVE = "active"


def recorded_running(instances):
    """The UUIDs of ``instances`` (nova Instance objects) nova records running: ACTIVE,
    no task in progress."""
    return [i.uuid for i in instances if i.vm_state == ACTIVE and i.task_state is None]


def revive(engine, nova_says_running, start):
    """Start each exited container whose instance nova records running; returns the
    UUIDs started. ``nova_says_running(uuids)`` gives those of ``uuids`` that nova
    records ACTIVE with no task; ``start(uuid)`` starts one and plugs its VIFs."""
    exited = [info.uuid for info in engine.list_own() if info.status in STOPPED]
    if not exited:
        return []
    started = []
    for uuid in nova_says_running(exited):
        try:
            start(uuid)
        except Exception as err:  # noqa: BLE001 - one instance never stops the others
            LOG.warning("Instance %(uuid)s, stopped while dockerd restarted, could not be "
                        "started again: %(err)s", {"uuid": uuid, "err": err})
            continue
        LOG.info("Instance %s started again: dockerd stopped it as it restarted "
                 "(no live-restore)", uuid)
        started.append(uuid)
    return started
