"""The pure parts of hybridhost's openvswitch firewall driver: member addresses, what a
port was filtered with, which refreshes owe a conntrack cleanup, which ports a flow
deletion forgets. Its flows are checked against neutron's on a real OVS in
tests/functional/test_neutron_firewall.py."""
# These are the driver's private helpers, tested as such:
# ruff: noqa: SLF001

import types

from neutron.agent.common import ovs_lib
from neutron.agent.linux.openvswitch_firewall import firewall as ovs_firewall

from hybridhost.neutron_firewall import driver as driver_mod

SG = "sg-default"
OTHER_SG = "sg-web"
REMOTE_RULE = {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": SG}
MAC = "fa:16:3e:00:00:01"


def bare_driver():
    """The driver's in-memory state only: its ``__init__`` wants an integration bridge
    and starts neutron's conntrack thread, which never ends."""
    driver = driver_mod.OVSFirewallDriver.__new__(driver_mod.OVSFirewallDriver)
    driver._filtered = {}
    driver._generation = 0
    driver._lost_at = {}
    driver.sg_port_map = ovs_firewall.SGPortMap()
    driver.sg_to_delete = set()
    return driver


def port_dict(device="port-1", groups=(SG,), **changes):
    port = {"device": device, "mac_address": MAC, "fixed_ips": ["10.0.0.1"],
            "allowed_address_pairs": [], "security_groups": list(groups),
            "port_security_enabled": True}
    port.update(changes)
    return port


def of_port(driver, port, ofport=1, vlan_tag=5, mac=MAC):
    """The port as the stock driver tracks it, on ``driver``'s map."""
    vif = ovs_lib.VifPort("tap-" + port["device"], ofport, port["device"], mac, None)
    found = ovs_firewall.OFPort(port, vif, vlan_tag)
    driver.sg_port_map.create_port(found, port)
    return found


def test_addresses_are_one_hashable_set_whatever_the_shape():
    """(ip, mac) pairs come as lists over RPC and as tuples from the agent's cache."""
    member_ips = {"IPv4": [["10.0.0.1", MAC]], "IPv6": {("fd00::1", MAC)}}
    assert driver_mod._addresses(member_ips) == {("10.0.0.1", MAC), ("fd00::1", MAC)}
    assert driver_mod._addresses({"IPv4": ["10.0.0.1"]}) == {"10.0.0.1"}
    assert driver_mod._addresses(None) == set()


def test_the_fingerprint_ignores_what_the_driver_adds_to_the_port():
    driver = bare_driver()
    driver.update_security_group_rules(SG, [REMOTE_RULE])
    port = port_dict()
    before = driver._fingerprint(port)
    assert driver._fingerprint(dict(port, of_port=object())) == before


def test_the_fingerprint_follows_the_port_and_its_groups_rules_not_the_members():
    driver = bare_driver()
    driver.update_security_group_rules(SG, [REMOTE_RULE])
    port = port_dict()
    before = driver._fingerprint(port)
    driver.update_security_group_members(SG, {"IPv4": [("10.0.0.9", MAC)]})
    assert driver._fingerprint(port) == before
    assert driver._fingerprint(port_dict(fixed_ips=["10.0.0.2"])) != before
    driver.update_security_group_rules(SG, [REMOTE_RULE, {"direction": "egress",
                                                          "ethertype": "IPv4"}])
    assert driver._fingerprint(port) != before


def test_a_refresh_owes_a_cleanup_only_when_a_named_group_lost_an_address():
    driver = bare_driver()
    driver.update_security_group_rules(SG, [REMOTE_RULE])
    driver.update_security_group_rules(OTHER_SG, [])
    naming, not_naming = port_dict(), port_dict("port-2", groups=(OTHER_SG,))
    naming_port = of_port(driver, naming)
    other_port = of_port(driver, not_naming, ofport=2, mac="fa:16:3e:00:00:02")
    one, two = ("10.0.0.1", MAC), ("10.0.0.2", MAC)
    driver.update_security_group_members(SG, {"IPv4": [one]})
    driver.update_security_group_members(SG, {"IPv4": [one, two]})
    assert not driver._lost_since(naming_port, 0)
    driver.update_security_group_members(SG, {"IPv4": [two]})
    assert driver._lost_since(naming_port, 0)
    assert not driver._lost_since(other_port, 0)
    assert not driver._lost_since(naming_port, driver._generation)


def test_deleting_a_ports_flows_forgets_the_ports_they_overlap():
    """The stock deletes match an OpenFlow port number, or a MAC in a VLAN or, for
    the provider networks' direct flows, in a segment (any flat network)."""
    driver = bare_driver()
    driver.update_security_group_rules(SG, [])
    pair = [{"ip_address": "10.0.0.100", "mac_address": "fa:16:3e:00:01:00"}]
    gone = of_port(driver, port_dict("gone", allowed_address_pairs=pair))
    of_port(driver, port_dict("same-number"), ofport=1, mac="fa:16:3e:00:00:02")
    of_port(driver, port_dict("shares-the-pair", allowed_address_pairs=pair), ofport=3,
            mac="fa:16:3e:00:00:03")
    of_port(driver, port_dict("pair-elsewhere", allowed_address_pairs=pair), ofport=4,
            vlan_tag=6, mac="fa:16:3e:00:00:04")
    of_port(driver, port_dict("apart"), ofport=5, mac="fa:16:3e:00:00:05")
    for device in driver.sg_port_map.ports:
        driver._filtered[device] = driver_mod._Filtered(fingerprint=None, generation=0)
    driver._forget_overlapping(gone)
    assert set(driver._filtered) == {"gone", "apart"}


def test_removing_an_unfiltered_ports_flows_forgets_the_ports_they_overlap():
    """The stock removal of an unfiltered port's flows matches its OpenFlow number."""
    driver = bare_driver()
    driver.update_security_group_rules(SG, [])
    of_port(driver, port_dict("same-number"), ofport=7, mac="fa:16:3e:00:00:07")
    of_port(driver, port_dict("apart"), ofport=8, mac="fa:16:3e:00:00:08")
    for device in driver.sg_port_map.ports:
        driver._filtered[device] = driver_mod._Filtered(fingerprint=None, generation=0)
    unfiltered = types.SimpleNamespace(ofport=7, vif_mac="fa:16:3e:00:00:99")
    driver.sg_port_map.unfiltered["was-open"] = (unfiltered, 5)
    deleted = []
    driver.int_br = types.SimpleNamespace(delete_flows=lambda **flow: deleted.append(flow))
    driver._deferred = True
    driver._remove_egress_no_port_security("was-open")
    assert any(flow.get("in_port") == 7 for flow in deleted)
    assert set(driver._filtered) == {"apart"}
    assert "was-open" not in driver.sg_port_map.unfiltered
