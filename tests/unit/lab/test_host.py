"""The lab's host outside supervisord: qemu.conf and the DHCP agent's namespaces."""

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
