"""Demo content and the DHCP switch against a hand-written fake of the SDK's network and
image proxies (only what hybridhost.lab calls)."""

import types

from hybridhost import plan as box_plan
from hybridhost.lab import demo
from hybridhost.lab import guest
from hybridhost.lab import host
from hybridhost.lab import lifecycle
from tests.unit import confutils


class FakeNetwork:
    def __init__(self):
        self.networks, self.subnets, self.agents_, self.ports_ = [], [], [], []

    def find_network(self, name):
        return next((n for n in self.networks if n.name == name), None)

    def create_network(self, name, **_):
        network = types.SimpleNamespace(id="net-%d" % len(self.networks), name=name)
        self.networks.append(network)
        return network

    def find_subnet(self, name, network_id):
        return next((s for s in self.subnets
                     if s.name == name and s.network_id == network_id), None)

    def create_subnet(self, name, network_id, is_dhcp_enabled=True, **_):
        self.subnets.append(types.SimpleNamespace(name=name, network_id=network_id,
                                                  is_dhcp_enabled=is_dhcp_enabled))

    def update_subnet(self, subnet, is_dhcp_enabled):
        subnet.is_dhcp_enabled = is_dhcp_enabled

    def agents(self, agent_type):
        return [a for a in self.agents_ if a.agent_type == agent_type]

    def delete_agent(self, agent):
        self.agents_.remove(agent)

    def ports(self, device_owner):
        return [p for p in self.ports_ if p.device_owner == device_owner]

    def delete_port(self, port):
        self.ports_.remove(port)


class FakeImages:
    def __init__(self):
        self.images_, self.uploads = [], []

    def find_image(self, name):
        return next((i for i in self.images_ if i.name == name), None)

    def images(self, name):
        return [i for i in self.images_ if i.name == name]

    def delete_image(self, image):
        self.images_.remove(image)

    def create_image(self, name, data, disk_format, container_format, **properties):
        for key in ("visibility", "allow_duplicates", "validate_checksum"):
            properties.pop(key)
        image = types.SimpleNamespace(id="img-%d" % len(self.uploads), name=name,
                                      status="active", properties=properties)
        self.images_.append(image)
        self.uploads.append(name)
        return image

    def wait_for_status(self, image, **_):
        return image


def _conn():
    return types.SimpleNamespace(network=FakeNetwork(), image=FakeImages())


class TestDemoSubnet:
    def test_new_subnet_has_dhcp_off_unless_the_agent_is_configured(self, tmp_path):
        conn = _conn()
        demo.ensure_network(conn, confutils.load(tmp_path))
        assert [s.is_dhcp_enabled for s in conn.network.subnets] == [False]
        conn = _conn()
        demo.ensure_network(conn, confutils.load(tmp_path, "[lab]\ndhcp_agent = true\n"))
        assert [s.is_dhcp_enabled for s in conn.network.subnets] == [True]

    def test_an_existing_subnet_follows_the_option(self, tmp_path):
        conn = _conn()
        demo.ensure_network(conn, confutils.load(tmp_path, "[lab]\ndhcp_agent = true\n"))
        demo.ensure_network(conn, confutils.load(tmp_path))
        assert [s.is_dhcp_enabled for s in conn.network.subnets] == [False]


class TestGuestImages:
    def _artifacts(self, tmp_path, build):
        out = tmp_path / "guest" / build
        out.mkdir(parents=True)
        for name in ("vmlinuz", "initramfs.gz"):
            (out / name).write_bytes(b"x")
        return guest.GuestArtifacts(str(out / "vmlinuz"), str(out / "initramfs.gz"), "quiet")

    def test_same_build_is_kept_another_build_replaces_all_three(self, tmp_path):
        conf = confutils.load(tmp_path, "[lab]\ncache_dir = %s\n" % tmp_path)
        conn = _conn()
        first = self._artifacts(tmp_path, "6.1-aaaa")
        image, uploaded = demo.ensure_guest_images(conn, conf, first)
        assert uploaded and image.properties[demo.GUEST_BUILD_PROPERTY] == "6.1-aaaa"
        assert demo.ensure_guest_images(conn, conf, first) == (image, False)
        image, uploaded = demo.ensure_guest_images(conn, conf,
                                                   self._artifacts(tmp_path, "6.1-bbbb"))
        assert uploaded and image.properties[demo.GUEST_BUILD_PROPERTY] == "6.1-bbbb"
        assert sorted(i.name for i in conn.image.images_) == sorted(
            [demo.GUEST_IMAGE, demo.GUEST_KERNEL, demo.GUEST_RAMDISK])
        assert image.properties["kernel_id"] == conn.image.find_image(demo.GUEST_KERNEL).id


class TestForgetDhcp:
    def test_only_the_boxs_dhcp_agent_and_ports_go(self, tmp_path, monkeypatch):
        conf = confutils.load(tmp_path)
        plan = box_plan.build(conf)
        conn = _conn()
        agent = lambda host, kind: types.SimpleNamespace(host=host, agent_type=kind)  # noqa: E731
        port = lambda pid, owner, host: types.SimpleNamespace(  # noqa: E731
            id=pid, device_owner=owner, binding_host_id=host)
        conn.network.agents_ = [agent(plan.agent.host, "DHCP agent"),
                                agent("elsewhere", "DHCP agent"),
                                agent(plan.agent.host, "Open vSwitch agent")]
        conn.network.ports_ = [port("p-dhcp", "network:dhcp", plan.agent.host),
                               port("p-other", "network:dhcp", "elsewhere"),
                               port("p-vm", "compute:nova", plan.agent.host)]
        ovs_deleted, said = [], []
        from hybridhost.virt.docker import ovs
        monkeypatch.setattr(ovs, "delete_ports_of", lambda _c, ids: ovs_deleted.extend(ids))
        monkeypatch.setattr(host, "stop_dnsmasq", lambda _conf: 1)
        monkeypatch.setattr(host, "remove_dhcp_namespaces", lambda _conf: 1)
        lifecycle._forget_dhcp(conn, conf, plan, said.append)  # noqa: SLF001
        assert [(a.host, a.agent_type) for a in conn.network.agents_] == [
            ("elsewhere", "DHCP agent"), (plan.agent.host, "Open vSwitch agent")]
        assert [p.id for p in conn.network.ports_] == ["p-other", "p-vm"]
        assert ovs_deleted == ["p-dhcp"]
        assert said == ["DHCP agent is off ([lab] dhcp_agent): removed 1 agent record(s), "
                        "1 DHCP port(s), 1 dnsmasq, 1 qdhcp namespace(s)"]
