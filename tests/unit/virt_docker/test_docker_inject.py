"""The pure side of what goes into a container: paths, tar members, resolver options."""

import io
import tarfile
import unittest

from nova.network import model

from hybridhost.virt.docker import inject

KEY = "ssh-ed25519 AAAAC3Nza hh@test"


def _members(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: (m.type, m.mode, m.uid, m.gid,
                         tar.extractfile(m).read() if m.isfile() else None)
                for m in tar.getmembers()}


def _vif(port_id, subnets):
    return model.VIF(id=port_id, network=model.Network(id="n", subnets=[model.Subnet(
        cidr=cidr, ips=[model.FixedIP(address=ip)],
        dns=[model.IP(address=a, type="dns") for a in dns]) for cidr, ip, dns in subnets]))


class GuestPathTest(unittest.TestCase):

    def test_plain_absolute_paths_pass(self):
        for path in ("/root/.ssh/authorized_keys", "/home/app/.ssh/keys", "/k"):
            self.assertEqual(path, inject.check_guest_path(path))

    def test_relative_traversing_or_odd_paths_are_refused(self):
        for path in ("root/.ssh/authorized_keys", "/home/../etc/shadow", "/a//b", "/a/./b",
                     "/a/", "/", "", "/a\0b", "/" + "a" * 1024, None):
            self.assertRaises(ValueError, inject.check_guest_path, path)


class KeysTest(unittest.TestCase):

    def test_root_keys_are_0600_in_a_0700_directory(self):
        members = _members(inject.tarball(inject.keys_entries(KEY + "\n"), mtime=0))
        self.assertEqual({
            "root/.ssh": (tarfile.DIRTYPE, 0o700, 0, 0, None),
            "root/.ssh/authorized_keys": (tarfile.REGTYPE, 0o600, 0, 0, (KEY + "\n").encode()),
        }, members)

    def test_another_path_and_owner(self):
        entries = inject.keys_entries(KEY, "/home/app/.ssh/authorized_keys", 1000, 1001)
        self.assertEqual([("/home/app/.ssh", 0o700, 1000, 1001),
                          ("/home/app/.ssh/authorized_keys", 0o600, 1000, 1001)],
                         [(e.path, e.mode, e.uid, e.gid) for e in entries])

    def test_a_key_file_at_the_root_has_no_directory_entry(self):
        self.assertEqual(["/keys"], [e.path for e in inject.keys_entries(KEY, "/keys")])

    def test_an_empty_or_multi_line_key_is_refused(self):
        self.assertRaises(ValueError, inject.keys_entries, "  \n")
        self.assertRaises(ValueError, inject.keys_entries, KEY + "\n" + KEY)


class ConfigDriveTest(unittest.TestCase):

    def test_every_directory_comes_before_its_files_all_read_only(self):
        entries = inject.config_drive_entries([
            ("openstack/latest/meta_data.json", "{}"), ("ec2/latest/user-data", b"\xff"),
            ("openstack/content/0000", b"x")], root="/drive")
        self.assertEqual(["/drive", "/drive/ec2", "/drive/ec2/latest", "/drive/openstack",
                          "/drive/openstack/content", "/drive/openstack/latest"],
                         [e.path for e in entries if e.data is None])
        self.assertEqual({(0o555, None)}, {(e.mode, e.data) for e in entries if e.data is None})
        files = {e.path: (e.mode, e.uid, e.data) for e in entries if e.data is not None}
        self.assertEqual((0o444, 0, b"{}"), files["/drive/openstack/latest/meta_data.json"])
        self.assertEqual((0o444, 0, b"\xff"), files["/drive/ec2/latest/user-data"])

    def test_a_pair_leaving_the_tree_is_refused(self):
        self.assertRaises(ValueError, inject.config_drive_entries, [("../../etc/passwd", "x")])


class ImageUserTest(unittest.TestCase):

    PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nbad:x:zz:1\n"

    def test_lookup_id(self):
        self.assertEqual((0, 1000, None, None), tuple(
            inject.lookup_id(self.PASSWD, name) for name in ("root", "app", "bad", "nobody")))

    def test_split_user(self):
        self.assertEqual([("", ""), ("app", ""), ("1000", "50"), ("app", "staff")],
                         [inject.split_user(u) for u in ("", "app", "1000:50", "app:staff")])


class ResolverTest(unittest.TestCase):

    def test_dns_servers_of_every_port_once_and_hosts_per_fixed_ip(self):
        network_info = model.NetworkInfo([
            _vif("p1", [("10.0.0.0/24", "10.0.0.5", ["10.0.0.2", "10.0.0.3"]),
                        ("fd00::/64", "fd00::5", ["fd00::2"])]),
            _vif("p2", [("10.1.0.0/24", "10.1.0.5", ["10.0.0.2"])])])
        self.assertEqual({
            "dns": ["10.0.0.2", "10.0.0.3", "fd00::2"],
            "extra_hosts": ["vm1:10.0.0.5", "vm1:fd00::5", "vm1:10.1.0.5"],
        }, inject.resolver_kwargs(network_info, "vm1"))

    def test_no_servers_no_hostname_no_ports(self):
        network_info = [_vif("p1", [("10.0.0.0/24", "10.0.0.5", [])])]
        self.assertEqual({}, inject.resolver_kwargs(network_info, None))
        self.assertEqual({"extra_hosts": ["vm1:10.0.0.5"]},
                         inject.resolver_kwargs(network_info, "vm1"))
        self.assertEqual({}, inject.resolver_kwargs([], "vm1"))
