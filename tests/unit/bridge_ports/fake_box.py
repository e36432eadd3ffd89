"""A whole fake box for ``bridge_ports.sources.LiveBox``: the Docker driver's fakes wired
together (FakeOvsPorts, FakeNet, the real Engine over FakeDockerClient, a SpecStore in
a temporary directory) plus rows of other owners on the same switch."""

import dataclasses

from hybridhost.bridge_ports import audit
from hybridhost.bridge_ports import sources
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import ovs as ovs_mod
from hybridhost.virt.docker import vifs
from tests.unit.virt_docker import fake_plumbing
from tests.unit.virt_docker import fakes

OWNER = "box-docker"
BRIDGE = "br-int"
UUID_A = "aaaaaaaa-0000-4000-8000-00000000000a"
UUID_B = "bbbbbbbb-0000-4000-8000-00000000000b"
TAP = "tap5555555555a"
FOREIGN = (TAP, "patch-tun", BRIDGE, "eth7")


def settings(instances_path):
    return sources.Settings(bridge=BRIDGE, owner=OWNER, prefix="hhd",
                            ovsdb_connection="unix:/nowhere", docker_url="unix:///nowhere",
                            docker_api_version="1.41", instances_path=instances_path)


def spec_for(port_id, mac, index=0):
    return vifs.VifSpec(port_id=port_id, mac=mac, host_ifname=vifs.host_ifname("hhd", port_id),
                        ifname="eth%d" % index, bridge=BRIDGE, mtu=1500,
                        addresses=("10.0.0.%d/24" % (10 + index),), routes=())


SPEC_A = spec_for("0a0a0a0a-1111-4111-8111-111111111111", "fa:16:3e:00:00:0a")
SPEC_B = spec_for("0b0b0b0b-2222-4222-8222-222222222222", "fa:16:3e:00:00:0b")


class FakeBox:
    """The switch, the kernel's veths and the Docker engine of one fake machine."""

    def __init__(self, instances_path):
        self.net = fake_plumbing.FakeNet()
        self.client = fakes.FakeDockerClient()
        self.client.exit_listeners.append(self.net.netns_gone)
        self.ovs = fake_plumbing.FakeOvsPorts(OWNER, bridges=(BRIDGE,),
                                              link_exists=self.net.host_link)
        self.engine = engine_mod.Engine(self.client, OWNER)
        self.store = vifs.SpecStore(instances_path)
        self.image = self.client.add_image()
        self.columns = {}  # port name -> the OVS columns OvsPort does not carry
        self.box = sources.LiveBox(settings(instances_path), self.ovs, self.engine, self.store,
                               self.net, rows=self.rows)

    def rows(self, bridge):
        found = []
        for port in self.ovs.ports.values():
            if port.bridge != bridge:
                continue
            ids = {"iface-id": port.iface_id, "attached-mac": port.mac, "vm-uuid": port.vm_uuid}
            if port.owner:
                ids[audit.OWNER_KEY] = port.owner
            columns = dict({"tag": 1, "link_state": "up" if port.ofport > 0 else "down"},
                           **self.columns.get(port.name, {}))
            found.append(audit.PortRow(name=port.name, ofport=port.ofport,
                                       external_ids={k: v for k, v in ids.items() if v},
                                       **columns))
        return tuple(found)

    def spawn(self, uuid, *specs):
        """A running container of the Docker side with ``specs`` plugged and saved; its
        ContainerInfo."""
        created = self.client.create_container(
            self.image, name=engine_mod.container_name(uuid),
            labels=self.engine.labels_for(uuid, "vm-%s" % uuid[:4]))
        self.client.start(created["Id"])
        info = self.engine.get(uuid)
        plugger = vifs.VifPlugger(self.ovs, self.net)
        for spec in specs:
            plugger.plug(uuid, info.sandbox, spec)
        self.store.save(uuid, list(specs))
        return info

    def add_foreign(self, name, owner="", vm_uuid="", iface_id="", ofport=7, **columns):
        """A row another service plugged (libvirt, the agent, someone else)."""
        self.ovs.ports[name] = ovs_mod.OvsPort(name=name, bridge=BRIDGE, iface_id=iface_id,
                                               mac="fa:16:3e:99:99:99" if iface_id else "",
                                               vm_uuid=vm_uuid, owner=owner, ofport=ofport)
        self.columns[name] = columns

    def foreign_state(self, names):
        """What a repair must leave byte-identical: the rows and their columns."""
        return {name: (dataclasses.asdict(self.ovs.ports[name]), dict(self.columns[name]))
                for name in names}


def with_foreign(box, broken=False):
    """A VM's tap, patch-tun, the bridge's own port and an unknown eth7 on ``box``'s
    bridge; ``broken``: dead VLAN and no OpenFlow port where the kind can have them."""
    ofport = (lambda good: -1) if broken else (lambda good: good)
    box.add_foreign(TAP, vm_uuid="dddddddd-0000-4000-8000-00000000000d", iface_id="vm-port",
                    ofport=ofport(7), tag=4095 if broken else 1)
    box.add_foreign("patch-tun", ofport=ofport(2), type="patch", tag=None)
    box.add_foreign(BRIDGE, ofport=65534, type="internal", tag=None)
    box.add_foreign("eth7", ofport=ofport(9), tag=None)
