"""hybridhost's openvswitch firewall leaves the flows neutron's own would, on a real OVS.

Two netdev bridges on the box's Open vSwitch: neutron's ``OVSFirewallDriver`` on one,
``hybridhost.neutron_firewall.driver.OVSFirewallDriver`` on the other, each with the same
internal ports (iface-id, attached-mac, the local VLAN in the Port's other_config, the
same OpenFlow port numbers). Both are driven through the same passes of the OVS agent's
security group code (``securitygroups_rpc``: each pass inside ``defer_apply``, the
group's rules and members first, then the ports, with fresh port dicts as the agent's
cache hands them out), on a ``default``-like group: egress anything, ingress from the
group itself (IPv4 and IPv6), tcp/22 from a CIDR. After every pass the two flow tables
must be the same once counters, ages and cookies are dropped.

Spies (wrappers around the stock methods) show which path each port took: a port whose
filter ``_set_port_filters`` writes is rewritten in full; one without took the
members-only path. Each pass also shows for which ports a conntrack cleanup was
scheduled, and the addresses of the ``conntrack -D`` commands it makes: recorded, never
run against the host's conntrack table.
"""

import copy
import dataclasses
import os
import uuid

import fixtures
from neutron.agent.common import ovs_lib
from neutron.agent.linux.openvswitch_firewall import firewall as ovs_firewall

from hybridhost.neutron_firewall import driver as hh_firewall
from tests.functional import ovs_firewall_rig as rig
from tests.functional.virt_docker import base

SG = str(uuid.uuid4())
NET = str(uuid.uuid4())
NET2 = str(uuid.uuid4())
#: Each network's Port other_config as the agent sets it (the local VLAN in "tag"), and
#: its subnets.
NETWORKS = {
    NET: ({"net_uuid": NET, "network_type": "vlan", "physical_network": "physnet1",
           "segmentation_id": "100", "tag": "5"}, "10.0.0.%d", "fd00::%x"),
    NET2: ({"net_uuid": NET2, "network_type": "vxlan", "segmentation_id": "1001",
            "tag": "6"}, "10.1.0.%d", "fd01::%x"),
}
DEFAULT_RULES = [
    {"direction": "egress", "ethertype": "IPv4"},
    {"direction": "egress", "ethertype": "IPv6"},
    {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": SG},
    {"direction": "ingress", "ethertype": "IPv6", "remote_group_id": SG},
    {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
     "port_range_max": 22, "source_ip_prefix": "192.0.2.0/24"},
]
ADDED_RULE = {"direction": "ingress", "ethertype": "IPv4", "protocol": "udp",
              "port_range_min": 5000, "port_range_max": 5010, "remote_group_id": SG}
VRRP_MAC = "fa:16:3e:00:01:00"
FIRST_OFPORT = 10
MOVED_OFPORT = 30

STOCK = "neutron's"
OURS = "hybridhost's"


def device(index):
    return str(uuid.UUID(int=index + 1))


def neutron_port(index, network=NET):
    """Port ``index`` as the agent's security group code gets it from its cache."""
    _other_config, ipv4, ipv6 = NETWORKS[network]
    return {"device": device(index), "id": device(index),
            "mac_address": "fa:16:3e:00:00:%02x" % (index + 1), "network_id": network,
            "fixed_ips": [ipv4 % (index + 1), ipv6 % (index + 1)],
            "allowed_address_pairs": [], "security_groups": [SG],
            "security_group_rules": [], "security_group_source_groups": [SG],
            "security_group_remote_address_groups": [], "port_security_enabled": True,
            "device_owner": "compute:nova", "admin_state_up": True, "status": "ACTIVE"}


def members(ports):
    """The group's member addresses as the agent's cache computes them: (ip, mac)."""
    found = {"IPv4": set(), "IPv6": set()}
    for port in (p for p in ports if SG in p["security_groups"]):
        pairs = [(ip, port["mac_address"]) for ip in port["fixed_ips"]]
        pairs += [(p["ip_address"], p["mac_address"]) for p in port["allowed_address_pairs"]]
        for ip, mac in pairs:
            found["IPv6" if ":" in ip else "IPv4"].add((ip, mac))
    return found


@dataclasses.dataclass
class Side:
    """One bridge and the driver filtering its ports."""

    name: str
    bridge: ovs_lib.OVSBridge
    driver: ovs_firewall.OVSFirewallDriver
    calls: rig.Calls
    letter: str

    def port_name(self, index):
        return "hhfw%04d%s%d" % (os.getpid() % 10000, self.letter, index)


class TestSameFlowsAsNeutron(fixtures.TestWithFixtures):
    """One port's life after another on a shared group, the flows compared after each
    step (a-f: the agent's everyday passes; g-n: what may trip the members-only path)."""

    def setUp(self):
        super().setUp()
        base.require_root()
        api = base.require_ovs()
        rig.configure_neutron(self)
        self.sides = [self._side(api, STOCK, "a", ovs_firewall.OVSFirewallDriver),
                      self._side(api, OURS, "b", hh_firewall.OVSFirewallDriver)]
        self.rules = copy.deepcopy(DEFAULT_RULES)
        self.ports = {}
        self.elsewhere = {}

    def _side(self, api, name, letter, driver_class):
        bridge_name = self.useFixture(base.TestBridge(api)).name
        bridge = rig.CookieBridge(bridge_name, datapath_type="netdev")
        rig.wait_for_bridge(bridge)
        driver = rig.make_driver(self, driver_class, bridge)
        calls = rig.Calls()
        calls.wrap(driver, "_set_port_filters", lambda of_port: of_port.id)
        calls.wrap(driver, "_schedule_invalid_conntrack_entries_cleanup",
                   lambda port: port["device"])
        return Side(name, bridge, driver, calls, letter)

    # --- the box and the agent ----------------------------------------------------------

    def plug(self, index, ofport=None, network=NET):
        port = self.ports.get(index) or neutron_port(index, network)
        for side in self.sides:
            name = side.port_name(index)
            rig.plug(side.bridge, name, port["device"], port["mac_address"],
                     ofport or FIRST_OFPORT + index, NETWORKS[port["network_id"]][0])
            self.addCleanup(side.bridge.delete_port, name)
        self.ports[index] = port

    def unplug(self, index):
        for side in self.sides:
            side.bridge.delete_port(side.port_name(index))

    def members(self):
        return members([*self.ports.values(), *self.elsewhere.values()])

    def agent_pass(self, prepare=(), update=()):
        """``_apply_port_filter``: the group's rules and members, then the ports."""
        for side in self.sides:
            side.calls.clear()
            rig.conntrack_addresses(side.driver)
        for side in self.sides:
            with side.driver.defer_apply():
                side.driver.update_security_group_rules(SG, copy.deepcopy(self.rules))
                side.driver.update_security_group_members(SG, self.members())
                for index in prepare:
                    side.driver.prepare_port_filter(copy.deepcopy(self.ports[index]))
                for index in update:
                    side.driver.update_port_filter(copy.deepcopy(self.ports[index]))

    def remove_pass(self, index):
        """``remove_devices_filter``: the port's dict as the driver keeps it."""
        device = self.ports.pop(index)["device"]
        for side in self.sides:
            with side.driver.defer_apply():
                side.driver.remove_port_filter(side.driver.ports[device])

    # --- what is checked after each step -----------------------------------------------

    def assert_same_flows(self, step):
        stock, ours = (rig.flows(side.bridge) for side in self.sides)
        difference = rig.flow_difference(stock, ours)
        self.assertFalse(difference, "step %s: the flow tables differ:\n%s" % (
            step, difference))
        addresses = {ip for ip, _mac in self.members()["IPv4"]}
        self.assertEqual(addresses, rig.conjunction_sources(ours),
                         "step %s: the remote group flows are not the members'" % step)

    def assert_paths(self, step, side_name, rewritten, cleaned):
        """Ports written in full (``_set_port_filters``), ports given a conntrack cleanup
        (scheduled, and the ``conntrack -D`` commands it makes: for their addresses)."""
        side = next(s for s in self.sides if s.name == side_name)
        addresses = {ip for i in cleaned for ip in self.addresses(i)}
        expected = ({device(i) for i in rewritten}, {device(i) for i in cleaned}, addresses)
        found = (side.calls.ports("_set_port_filters"),
                 side.calls.ports("_schedule_invalid_conntrack_entries_cleanup"),
                 rig.conntrack_addresses(side.driver))
        self.assertEqual(expected, found, "step %s, %s driver: (ports written in full, "
                         "ports given a conntrack cleanup, their addresses)" % (
                             step, side_name))

    def addresses(self, index):
        port = self.ports[index]
        return port["fixed_ips"] + [p["ip_address"] for p in port["allowed_address_pairs"]]

    # --- the steps -------------------------------------------------------------------

    def test_every_step_leaves_neutrons_flows(self):
        for step in (self.step_a_two_ports, self.step_b_a_port_joins,
                     self.step_c_a_port_leaves, self.step_d_a_rule_is_added,
                     self.step_e_port_data_and_members_change,
                     self.step_f_the_ofport_changes, self.step_g_a_port_joins_again,
                     self.step_h_a_port_elsewhere_joins, self.step_i_it_leaves,
                     self.step_j_a_port_on_another_network_joins,
                     self.step_k_members_change_on_both_networks,
                     self.step_l_port_security_comes_on,
                     self.step_m_a_port_sharing_a_mac_leaves,
                     self.step_n_a_new_port_gets_a_removed_ports_ofport):
            step()
            self.assert_same_flows(step.__name__)

    def step_a_two_ports(self):
        self.plug(0)
        self.plug(1)
        self.agent_pass(prepare=(0, 1))
        self.assert_paths("a", STOCK, rewritten={0, 1}, cleaned={0, 1})
        self.assert_paths("a", OURS, rewritten={0, 1}, cleaned={0, 1})

    def step_b_a_port_joins(self):
        """Members only, for the two ports already there: no rewrite, no cleanup."""
        self.plug(2)
        self.agent_pass(prepare=(2,), update=(0, 1))
        self.assert_paths("b", STOCK, rewritten={0, 1, 2}, cleaned={0, 1, 2})
        self.assert_paths("b", OURS, rewritten={2}, cleaned={2})

    def step_c_a_port_leaves(self):
        """Members only, but the group lost addresses: a cleanup, still no rewrite."""
        self.unplug(2)
        self.remove_pass(2)
        self.agent_pass(update=(0, 1))
        self.assert_paths("c", STOCK, rewritten={0, 1}, cleaned={0, 1})
        self.assert_paths("c", OURS, rewritten=set(), cleaned={0, 1})

    def step_d_a_rule_is_added(self):
        self.rules.append(copy.deepcopy(ADDED_RULE))
        self.agent_pass(update=(0, 1))
        self.assert_paths("d", STOCK, rewritten={0, 1}, cleaned={0, 1})
        self.assert_paths("d", OURS, rewritten={0, 1}, cleaned={0, 1})

    def step_e_port_data_and_members_change(self):
        """Port 1 gets a VRRP address pair and a new IPv4 address: it is rewritten;
        port 0 sees members only, one of them lost: cleaned, not rewritten."""
        port = self.ports[1]
        port["fixed_ips"][0] = "10.0.0.12"
        port["allowed_address_pairs"] = [{"ip_address": "10.0.0.100", "mac_address": VRRP_MAC}]
        self.agent_pass(update=(0, 1))
        self.assert_paths("e", STOCK, rewritten={0, 1}, cleaned={0, 1})
        self.assert_paths("e", OURS, rewritten={1}, cleaned={0, 1})

    def step_f_the_ofport_changes(self):
        """Port 0's interface is deleted and added again with another OpenFlow port."""
        self.unplug(0)
        self.plug(0, ofport=MOVED_OFPORT)
        self.agent_pass(update=(0,))
        self.assert_paths("f", STOCK, rewritten={0}, cleaned={0})
        self.assert_paths("f", OURS, rewritten={0}, cleaned={0})

    def step_g_a_port_joins_again(self):
        """After f, the moved port takes the members-only path again."""
        self.plug(3)
        self.agent_pass(prepare=(3,), update=(0, 1))
        self.assert_paths("g", STOCK, rewritten={0, 1, 3}, cleaned={0, 1, 3})
        self.assert_paths("g", OURS, rewritten={3}, cleaned={3})

    def step_h_a_port_elsewhere_joins(self):
        """A member with no port on this bridge: no local port is prepared in the pass
        that could write the address flows instead of the members-only path."""
        self.elsewhere[9] = neutron_port(9)
        self.agent_pass(update=(0, 1, 3))
        self.assert_paths("h", STOCK, rewritten={0, 1, 3}, cleaned={0, 1, 3})
        self.assert_paths("h", OURS, rewritten=set(), cleaned=set())

    def step_i_it_leaves(self):
        del self.elsewhere[9]
        self.agent_pass(update=(0, 1, 3))
        self.assert_paths("i", STOCK, rewritten={0, 1, 3}, cleaned={0, 1, 3})
        self.assert_paths("i", OURS, rewritten=set(), cleaned={0, 1, 3})

    def step_j_a_port_on_another_network_joins(self):
        self.plug(5, network=NET2)
        self.agent_pass(prepare=(5,), update=(0, 1, 3))
        self.assert_paths("j", STOCK, rewritten={0, 1, 3, 5}, cleaned={0, 1, 3, 5})
        self.assert_paths("j", OURS, rewritten={5}, cleaned={5})

    def step_k_members_change_on_both_networks(self):
        """Both networks' address flows follow, in one pass, on the members-only path."""
        self.elsewhere[9] = neutron_port(9)
        self.agent_pass(update=(0, 1, 3, 5))
        self.assert_paths("k", STOCK, rewritten={0, 1, 3, 5}, cleaned={0, 1, 3, 5})
        self.assert_paths("k", OURS, rewritten=set(), cleaned=set())

    def step_l_port_security_comes_on(self):
        """Port 6 starts without port security (so in no group), then gets both."""
        self.ports[6] = dict(neutron_port(6), port_security_enabled=False,
                             security_groups=[], security_group_source_groups=[])
        self.plug(6)
        self.agent_pass(prepare=(6,))
        self.assert_paths("l", STOCK, rewritten=set(), cleaned=set())
        self.assert_paths("l", OURS, rewritten=set(), cleaned=set())
        self.assert_same_flows("l (port 6 unfiltered)")
        self.ports[6] = neutron_port(6)
        self.agent_pass(update=(0, 1, 3, 5, 6))
        self.assert_paths("l", STOCK, rewritten={0, 1, 3, 5, 6}, cleaned={0, 1, 3, 5, 6})
        self.assert_paths("l", OURS, rewritten={6}, cleaned={6})

    def step_m_a_port_sharing_a_mac_leaves(self):
        """Ports 1 and 3 share a VRRP address pair (its MAC too); port 1 leaves. Removing
        its filter deletes the VRRP MAC's flows, port 3's as well."""
        self.ports[3]["allowed_address_pairs"] = copy.deepcopy(
            self.ports[1]["allowed_address_pairs"])
        self.agent_pass(update=(0, 1, 3, 5, 6))
        self.assert_same_flows("m (port 3 gets the pair)")
        self.unplug(1)
        self.remove_pass(1)
        self.agent_pass(update=(0, 3, 5, 6))
        self.assert_paths("m", STOCK, rewritten={0, 3, 5, 6}, cleaned={0, 3, 5, 6})
        self.assert_paths("m", OURS, rewritten={3}, cleaned={0, 3, 5, 6})

    def step_n_a_new_port_gets_a_removed_ports_ofport(self):
        """Port 3's interface goes and port 4's comes with its OpenFlow port (requested
        here; ovs-vswitchd hands a freed number out again only after a while, or after it
        restarts). The agent's process_network_ports prepares new ports before it removes
        the filters of gone ones: removing port 3's deletes the flows on its number,
        port 4's."""
        self.unplug(3)
        self.plug(4, ofport=FIRST_OFPORT + 3)
        self.agent_pass(prepare=(4,))
        self.assert_same_flows("n (port 4 prepared)")
        self.remove_pass(3)
        self.agent_pass(update=(0, 4, 5, 6))
        self.assert_paths("n", STOCK, rewritten={0, 4, 5, 6}, cleaned={0, 4, 5, 6})
        self.assert_paths("n", OURS, rewritten={4}, cleaned={0, 4, 5, 6})
