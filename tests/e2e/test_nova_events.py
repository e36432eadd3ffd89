"""neutron's events to nova in the lab (hybridhost.neutron_server.nova_events): nova's own
port attach at a boot is not answered with ``network-changed``; a user's port update and
a delete still reach nova. Read from neutron-api's log, where neutron's
notifier logs every event nova accepted."""

import os

from tests.e2e import lab as e2e

NEUTRON_API_LOG = "neutron-api.stdout.log"
NETWORK_CHANGED = "network-changed"
DELETED = "network-vif-deleted"


def _events(path, offset, server_id, port_id):
    """Names of the events sent to nova for ``server_id``'s port since ``offset``."""
    names = []
    with open(path, errors="replace") as handle:
        handle.seek(offset)
        for line in handle:
            if "Nova event" in line and server_id in line and port_id in line:
                names.extend(name for name in (NETWORK_CHANGED, DELETED)
                             if "'name': '%s'" % name in line)
    return names


def test_nova_hears_of_a_users_port_update_but_not_of_its_own_attach(lab):
    log_file = os.path.join(lab.conf.paths.log_root, NEUTRON_API_LOG)
    offset = e2e.log_size(log_file)
    server = e2e.create_on_demo_net(lab, "hh-e2e-events", "hh.container.tiny")
    port = None
    try:
        e2e.wait_active(lab.conn, server)
        port = next(lab.conn.network.ports(device_id=server.id))
        lab.conn.network.update_port(port, description="hh-e2e-events")
    finally:
        e2e.delete_servers(lab, [server])
    assert port is not None

    def told():
        return _events(log_file, offset, server.id, port.id)

    # neutron sends its events in order: once the delete's is logged, what the attach
    # (at the boot) and the update queued before it is too.
    e2e.wait_until(lambda: DELETED in told(), what="nova told of the delete")
    assert told() == [NETWORK_CHANGED, DELETED], told()
