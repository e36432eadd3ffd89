"""The lab's host outside supervisord: qemu.conf and the DHCP and L3 agents' namespaces."""

import os

from hybridhost import lab_state
from hybridhost.lab import host
from tests.unit import confutils


class TestQemuConf:
    def test_sets_root_and_no_security_driver_once(self, tmp_path):
        path = tmp_path / "qemu.conf"
        path.write_text('#user = "libvirt-qemu"\nuser = "libvirt-qemu"\nvnc_listen = "x"\n')
        assert host.configure_qemu(str(path))
        text = path.read_text()
        assert 'user = "root"' in text and 'security_driver = "none"' in text
        assert 'vnc_listen = "x"' in text and '#user = "libvirt-qemu"' in text
        assert 'user = "libvirt-qemu"\n' not in text.replace('#user = "libvirt-qemu"\n', "")
        assert not host.configure_qemu(str(path))


class TestDhcpNamespaces:
    def test_one_namespace_per_network_directory_of_the_dhcp_agent(self, tmp_path):
        conf = confutils.load(tmp_path)
        assert host.dhcp_namespaces(conf) == []
        directory = lab_state.layout(conf).path("neutron-dhcp", "dhcp")
        assert directory.startswith(str(tmp_path))
        networks = ["5f1c2d3e-0000-4000-8000-00000000000b",
                    "0a1b2c3d-0000-4000-8000-00000000000a"]
        for name in networks + ["lock", "not-a-network"]:
            os.makedirs(os.path.join(directory, name))
        assert host.dhcp_namespaces(conf) == ["qdhcp-%s" % n for n in sorted(networks)]


class TestRouterNamespaces:
    ROUTER = "qrouter-11ca9a32-ba25-48ff-b163-09ff67495159"

    def test_the_taps_on_br_int_are_the_peers_of_qr_and_qg(self):
        assert host.router_taps(["lo", "qr-aecbc469-0a", "qg-36fa4e46-10", "eth0",
                                 "qr-short"]) == ["tapaecbc469-0a", "tap36fa4e46-10"]

    def test_only_qrouter_namespaces_go_with_their_ports(self, tmp_path, monkeypatch):
        names = [self.ROUTER, "qdhcp-5f1c2d3e-0000-4000-8000-00000000000b", "other"]
        removed, deleted = [], []
        monkeypatch.setattr(host.pyroute2_netns, "listnetns", lambda: list(names))
        monkeypatch.setattr(host.pyroute2_netns, "remove", removed.append)
        monkeypatch.setattr(host, "_links_in", lambda _ns: ["lo", "qg-36fa4e46-10"])
        monkeypatch.setattr(host, "_delete_ovs_ports", lambda _conf, taps: deleted.extend(taps))
        assert host.remove_router_namespaces(confutils.load(tmp_path)) == 1
        assert removed == [self.ROUTER] and deleted == ["tap36fa4e46-10"]
