"""Snapshots of an integration bridge, written by hand for the audit's tests."""

from hybridhost.bridge_ports import audit
from hybridhost.bridge_ports.audit import PortRow

OWNER = "box-docker"
BRIDGE = "br-int"
PREFIX = "hhd"
UUID_A = "aaaaaaaa-0000-4000-8000-00000000000a"
UUID_B = "bbbbbbbb-0000-4000-8000-00000000000b"
NAME_A = "hhdaaaaaaaa-00"
NAME_B = "hhdbbbbbbbb-00"
TAP = "tapcccccccc-00"


def port_id_for(name):
    return "port-of-%s" % name


def mac_for(name):
    return "fa:16:3e:00:00:%02x" % (sum(map(ord, name)) % 256)


def docker_row(name, uuid, owner=OWNER, port_id=None, tag=1, ofport=5, link_state="up",
               error=None):
    ids = {"iface-id": port_id or port_id_for(name), "attached-mac": mac_for(name),
           "iface-status": "active", "vm-uuid": uuid, audit.OWNER_KEY: owner}
    return PortRow(name=name, tag=tag, ofport=ofport, link_state=link_state, error=error,
                   external_ids=ids)


def libvirt_row(name, tag=1, ofport=7, link_state="up", error=None):
    ids = {"iface-id": port_id_for(name), "attached-mac": mac_for(name),
           "iface-status": "active", "vm-uuid": "dddddddd-0000-4000-8000-00000000000d"}
    return PortRow(name=name, tag=tag, ofport=ofport, link_state=link_state, error=error,
                   external_ids=ids)


def saved_vif(uuid, name, bridge=BRIDGE):
    return audit.SavedVif(uuid=uuid, host_ifname=name, port_id=port_id_for(name),
                          mac=mac_for(name), ifname="eth0", bridge=bridge)


def running(uuid, pid=4001):
    return audit.Container(uuid, "running", pid)


def snapshot(rows, containers=(), saved=(), netns=None, notes=()):
    return audit.Snapshot(bridge=BRIDGE, owner=OWNER, prefix=PREFIX, rows=tuple(rows),
                          containers=tuple(containers), saved=tuple(saved),
                          netns=dict(netns or {}), notes=tuple(notes))


def healthy_snapshot(containers=None, saved=None, netns=None, extra=(), replace=None, drop=(),
                     notes=()):
    """One running container with its intact VIF, a VM's tap, the bridge's own port and
    patch-tun; ``replace``/``extra``/``drop`` change its rows."""
    rows = {NAME_A: docker_row(NAME_A, UUID_A), TAP: libvirt_row(TAP),
            BRIDGE: PortRow(name=BRIDGE, type="internal", ofport=65534, link_state="up"),
            "patch-tun": PortRow(name="patch-tun", type="patch", ofport=2, link_state="up")}
    rows.update(replace or {})
    rows.update({row.name: row for row in extra})
    for name in drop:
        rows.pop(name)
    return snapshot(rows.values(),
                    containers=[running(UUID_A)] if containers is None else containers,
                    saved=[saved_vif(UUID_A, NAME_A)] if saved is None else saved,
                    netns={NAME_A: True} if netns is None else netns, notes=notes)
