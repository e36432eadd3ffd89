"""network_info -> VifSpec (pure), the plugger's rollback, the spec store."""

import os
import shutil
import tempfile
import unittest

from nova.network import model

from hybridhost import exception
from hybridhost.virt.docker import vifs
from tests.unit.virt_docker import fake_plumbing


def _vif(port_id, subnets, routes=(), mtu=1450, bridge="br-int"):
    net_subnets = []
    for cidr, ip, gateway in subnets:
        extra = {"gateway": model.IP(address=gateway, type="gateway")} if gateway else {}
        route_objs = [model.Route(cidr=c, gateway=model.IP(address=g)) for c, g in routes]
        net_subnets.append(model.Subnet(cidr=cidr, ips=[model.FixedIP(address=ip)],
                                        routes=route_objs, **extra))
    return model.VIF(id=port_id, address="FA:16:3E:00:00:01",
                     network=model.Network(id="n", bridge=bridge, subnets=net_subnets,
                                           meta={"mtu": mtu} if mtu else {}),
                     details={"bridge_name": bridge})


PORT = "0123456789abcdef-0000-0000-0000-000000000000"
NETNS = "/var/run/docker/netns/00000000a242"
OTHER_NETNS = "/var/run/docker/netns/00000000a343"


class SpecTest(unittest.TestCase):

    def test_names_and_basic_fields(self):
        spec = vifs.specs_from_network_info([_vif(PORT, [("10.0.0.0/24", "10.0.0.5", "10.0.0.1")])],
                                            "hhd", "br-x")[0]
        self.assertEqual("hhd0123456789a", spec.host_ifname)
        self.assertEqual(14, len(spec.host_ifname))
        self.assertEqual(("eth0", "fa:16:3e:00:00:01", 1450, "br-int"),
                         (spec.ifname, spec.mac, spec.mtu, spec.bridge))
        self.assertEqual(("10.0.0.5/24",), spec.addresses)
        self.assertEqual((("0.0.0.0/0", "10.0.0.1"),), spec.routes)

    def test_long_prefix_still_fits_14_characters(self):
        self.assertEqual("abcd0123456789", vifs.host_ifname("abcd", PORT))

    def test_no_gateway_means_no_default_route(self):
        spec = vifs.specs_from_network_info([_vif(PORT, [("fd00::/64", "fd00::5", None)])],
                                            "hhd", "br")[0]
        self.assertEqual((), spec.routes)
        self.assertEqual(("fd00::5/64",), spec.addresses)

    def test_every_fixed_ip_and_host_routes(self):
        vif = _vif(PORT, [("10.0.0.0/24", "10.0.0.5", "10.0.0.1"),
                          ("fd00::/64", "fd00::5", "fd00::1")],
                   routes=[("192.168.0.0/16", "10.0.0.254")])
        spec = vifs.specs_from_network_info([vif], "hhd", "br")[0]
        self.assertEqual(("10.0.0.5/24", "fd00::5/64"), spec.addresses)
        self.assertIn(("192.168.0.0/16", "10.0.0.254"), spec.routes)
        self.assertIn(("0.0.0.0/0", "10.0.0.1"), spec.routes)
        self.assertIn(("::/0", "fd00::1"), spec.routes)

    def test_one_default_route_per_family_across_vifs(self):
        info = [_vif("a" * 36, [("10.0.0.0/24", "10.0.0.5", "10.0.0.1")]),
                _vif("b" * 36, [("10.1.0.0/24", "10.1.0.5", "10.1.0.1"),
                                ("fd01::/64", "fd01::5", "fd01::1")])]
        first, second = vifs.specs_from_network_info(info, "hhd", "br")
        self.assertEqual((("0.0.0.0/0", "10.0.0.1"),), first.routes)
        self.assertEqual((("::/0", "fd01::1"),), second.routes)
        self.assertEqual("eth1", second.ifname)

    def test_default_mtu_and_bridge(self):
        vif = _vif(PORT, [("10.0.0.0/24", "10.0.0.5", None)], mtu=None, bridge=None)
        spec = vifs.specs_from_network_info([vif], "hhd", "br-default")[0]
        self.assertEqual((1500, "br-default"), (spec.mtu, spec.bridge))

    def test_next_spec_takes_the_first_free_ethn(self):
        existing = vifs.specs_from_network_info(
            [_vif("a" * 36, [("10.0.0.0/24", "10.0.0.5", "10.0.0.1")])], "hhd", "br")
        spec = vifs.next_spec(existing, _vif("c" * 36, [("10.2.0.0/24", "10.2.0.5", "10.2.0.1")]),
                              "hhd", "br")
        self.assertEqual("eth1", spec.ifname)
        self.assertEqual((), spec.routes)


class PluggerTest(unittest.TestCase):

    def setUp(self):
        self.net = fake_plumbing.FakeNet()
        self.ovs = fake_plumbing.FakeOvsPorts("me", link_exists=self.net.host_link)
        self.plugger = vifs.VifPlugger(self.ovs, self.net)
        self.spec = vifs.specs_from_network_info(
            [_vif(PORT, [("10.0.0.0/24", "10.0.0.5", "10.0.0.1")])], "hhd", "br-int")[0]

    def test_plug_then_unplug(self):
        self.plugger.plug("u", NETNS, self.spec)
        self.assertTrue(self.plugger.intact(NETNS, self.spec))
        self.assertFalse(self.plugger.intact(OTHER_NETNS, self.spec))
        self.plugger.unplug(self.spec)
        self.plugger.unplug(self.spec)
        self.assertEqual(({}, {}), (self.net.veths, self.ovs.ports))

    def test_ovs_failure_removes_the_veth(self):
        self.ovs.fail_next_add = exception.OvsdbOperationFailed(operation="a", target="b",
                                                                reason="c")
        self.assertRaises(exception.VifPlugFailed, self.plugger.plug, "u", NETNS, self.spec)
        self.assertEqual({}, self.net.veths)

    def test_missing_bridge_is_a_plug_failure(self):
        spec = vifs.specs_from_network_info(
            [_vif(PORT, [("10.0.0.0/24", "10.0.0.5", None)], bridge="br-none")], "hhd", "x")[0]
        self.assertRaises(exception.VifPlugFailed, self.plugger.plug, "u", NETNS, spec)
        self.assertEqual({}, self.net.veths)

    def test_privileged_refusal_is_a_plug_failure(self):
        self.assertRaises(exception.VifPlugFailed, self.plugger.plug, "u", 1, self.spec)

    def test_foreign_ovs_row_is_not_deleted(self):
        self.plugger.plug("u", NETNS, self.spec)
        other = vifs.VifPlugger(self.ovs.sibling("other"), self.net)
        other.unplug(self.spec)
        self.assertIn(self.spec.host_ifname, self.ovs.ports)


class SpecStoreTest(unittest.TestCase):

    def test_round_trip_and_delete(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        store = vifs.SpecStore(tmp)
        specs = vifs.specs_from_network_info(
            [_vif(PORT, [("10.0.0.0/24", "10.0.0.5", "10.0.0.1")])], "hhd", "br")
        store.save("u", specs)
        self.assertEqual(specs, store.load("u"))
        store.delete("u")
        store.delete("u")
        self.assertEqual([], store.load("u"))

    def _store_with_file(self, content):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        store = vifs.SpecStore(tmp)
        os.makedirs(os.path.join(tmp, "u"))
        with open(os.path.join(tmp, "u", "hybridhost-vifs.json"), "w") as fileobj:
            fileobj.write(content)
        return store

    def test_a_corrupt_file_is_a_clear_error_naming_the_instance_and_file(self):
        for content in ("{not json", '{"a": 1}', '[{"port_id": "p"}]', "[1]", ""):
            store = self._store_with_file(content)
            with self.assertRaises(exception.VifSpecCorrupt) as caught:
                store.load("u")
            self.assertIn("instance u", str(caught.exception), content)
            self.assertIn(os.path.join(store.directory, "u", "hybridhost-vifs.json"),
                          str(caught.exception))
            self.assertEqual([], store.load_or_empty("u"))

    def test_save_replaces_the_file_whole_and_leaves_no_temporary(self):
        store = self._store_with_file("{not json")
        specs = vifs.specs_from_network_info(
            [_vif(PORT, [("10.0.0.0/24", "10.0.0.5", "10.0.0.1")])], "hhd", "br")
        store.save("u", specs)
        self.assertEqual(specs, store.load("u"))
        self.assertEqual(["hybridhost-vifs.json"],
                         os.listdir(os.path.join(store.directory, "u")))
