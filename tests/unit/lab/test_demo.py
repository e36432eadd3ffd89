"""Demo content and the DHCP switch against a hand-written fake of the SDK's network and
image proxies (only what hybridhost.lab calls)."""

import types

from hybridhost import plan as box_plan
from hybridhost.lab import demo
from hybridhost.lab import demo_router
from hybridhost.lab import guest
from hybridhost.lab import host
from hybridhost.lab import lifecycle
from tests.unit import confutils


class FakeNetwork:
    def __init__(self):
        self.networks, self.subnets, self.agents_, self.ports_ = [], [], [], []
        self.routers = []

    def find_network(self, name):
        return next((n for n in self.networks if n.name == name), None)

    def create_network(self, name, **attrs):
        network = types.SimpleNamespace(id="net-%d" % len(self.networks), name=name, **attrs)
        self.networks.append(network)
        return network

    def find_subnet(self, name, network_id):
        return next((s for s in self.subnets
                     if s.name == name and s.network_id == network_id), None)

    def create_subnet(self, name, network_id, is_dhcp_enabled=True, gateway_ip=None, **attrs):
        subnet = types.SimpleNamespace(id="sub-%d" % len(self.subnets), name=name,
                                       network_id=network_id, is_dhcp_enabled=is_dhcp_enabled,
                                       gateway_ip=gateway_ip, **attrs)
        self.subnets.append(subnet)
        return subnet

    def update_subnet(self, subnet, **attrs):
        for key, value in attrs.items():
            setattr(subnet, key, value)

    def find_router(self, name):
        return next((r for r in self.routers if r.name == name), None)

    def create_router(self, name, external_gateway_info):
        router = types.SimpleNamespace(id="router-%d" % len(self.routers), name=name,
                                       external_gateway_info=external_gateway_info)
        self.routers.append(router)
        return router

    def update_router(self, router, external_gateway_info):
        router.external_gateway_info = external_gateway_info
        return router

    def add_interface_to_router(self, router, subnet_id):
        self.ports_.append(types.SimpleNamespace(
            id="p-%d" % len(self.ports_), device_id=router.id,
            device_owner="network:router_interface", fixed_ips=[{"subnet_id": subnet_id}]))

    def agents(self, agent_type):
        return [a for a in self.agents_ if a.agent_type == agent_type]

    def delete_agent(self, agent):
        self.agents_.remove(agent)

    def ports(self, device_owner, device_id=None):
        return [p for p in self.ports_ if p.device_owner == device_owner
                and device_id in (None, getattr(p, "device_id", None))]

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

    def update_image(self, image, **properties):
        if any(not isinstance(value, str) for value in properties.values()):
            raise ValueError("400: glance takes string properties only")
        image.properties = dict(image.properties, **properties)
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


class TestDemoRouting:
    def test_with_the_l3_agent_the_subnet_gets_the_first_address_as_gateway(self, tmp_path):
        conn = _conn()
        demo.ensure_network(conn, confutils.load(tmp_path))
        assert [s.gateway_ip for s in conn.network.subnets] == ["10.77.0.1"]
        conn = _conn()
        demo.ensure_network(conn, confutils.load(tmp_path, "[lab]\nl3_agent = false\n"))
        assert [s.gateway_ip for s in conn.network.subnets] == [None]

    def test_a_subnet_without_gateway_is_migrated_and_its_pool_moves(self, tmp_path):
        conn = _conn()
        demo.ensure_network(conn, confutils.load(tmp_path, "[lab]\nl3_agent = false\n"))
        _network, subnet = demo.ensure_network(conn, confutils.load(tmp_path))
        assert subnet.gateway_ip == "10.77.0.1"
        assert subnet.allocation_pools == [{"start": "10.77.0.2", "end": "10.77.0.254"}]
        assert len(conn.network.subnets) == 1

    def test_public_network_pool_leaves_the_boxs_address_out(self, tmp_path):
        conn = _conn()
        demo_router.ensure_public_network(conn, confutils.load(tmp_path))
        public = conn.network.find_network(demo_router.PUBLIC)
        assert public.is_router_external and public.provider_physical_network == "public"
        (subnet,) = conn.network.subnets
        assert subnet.gateway_ip is None
        assert subnet.allocation_pools == [{"start": "172.24.4.2", "end": "172.24.4.254"}]

    def test_a_public_subnet_with_a_gateway_loses_it(self, tmp_path):
        """A gateway would be the routers' default route, out through the box's uplink."""
        conn = _conn()
        public = conn.network.create_network(demo_router.PUBLIC)
        conn.network.create_subnet(demo_router.PUBLIC_SUBNET, public.id,
                                   gateway_ip="172.24.4.1")
        demo_router.ensure_public_network(conn, confutils.load(tmp_path))
        assert [s.gateway_ip for s in conn.network.subnets] == [None]

    def test_router_is_made_once_with_gateway_and_one_interface(self, tmp_path):
        conf = confutils.load(tmp_path)
        conn = _conn()
        _network, subnet = demo.ensure_network(conn, conf)
        first = demo_router.ensure(conn, conf, subnet)
        again = demo_router.ensure(conn, conf, subnet)
        public = conn.network.find_network(demo_router.PUBLIC)
        assert again is first and len(conn.network.routers) == 1
        assert first.external_gateway_info == {"network_id": public.id}
        assert [p.fixed_ips for p in conn.network.ports_] == [[{"subnet_id": subnet.id}]]

    def test_a_router_without_gateway_gets_one(self, tmp_path):
        conf = confutils.load(tmp_path)
        conn = _conn()
        _network, subnet = demo.ensure_network(conn, conf)
        conn.network.create_router(demo_router.ROUTER, None)
        router = demo_router.ensure(conn, conf, subnet)
        assert router.external_gateway_info == {
            "network_id": conn.network.find_network(demo_router.PUBLIC).id}


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


    def test_the_guest_powers_off_after_a_short_wait_also_on_an_older_upload(self, tmp_path):
        conf = confutils.load(tmp_path, "[lab]\ncache_dir = %s\n" % tmp_path)
        conn = _conn()
        first = self._artifacts(tmp_path, "6.1-aaaa")
        image, _ = demo.ensure_guest_images(conn, conf, first)
        assert image.properties[demo.STOP_TIMEOUT_PROPERTY] == str(demo.GUEST_STOP_TIMEOUT_S)
        del image.properties[demo.STOP_TIMEOUT_PROPERTY]
        kept, uploaded = demo.ensure_guest_images(conn, conf, first)
        assert not uploaded and kept.id == image.id
        assert kept.properties[demo.STOP_TIMEOUT_PROPERTY] == str(demo.GUEST_STOP_TIMEOUT_S)
        assert len(conn.image.uploads) == 3


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
