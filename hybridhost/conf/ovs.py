"""[ovs]: Open vSwitch and the single neutron OVS agent."""

from oslo_config import cfg
from oslo_config import types

from hybridhost import linknames

ovs_group = cfg.OptGroup("ovs", help="Open vSwitch and the single neutron OVS agent.")
ovs_opts = [
    cfg.StrOpt("ovsdb_connection", default="unix:/var/run/openvswitch/db.sock",
               regex=r"^(unix:/|tcp:127\.|tcp:\[::1\])",
               help="OVSDB connection (unix:PATH, or tcp on loopback)."),
    cfg.StrOpt("run_dir", default="/var/run/openvswitch",
               help="OVS run directory (OVS_RUNDIR): pid files and control sockets."),
    cfg.StrOpt("db_file", default="/var/lib/openvswitch/conf.db",
               help="ovsdb-server's database file when hybridhost runs it."),
    cfg.StrOpt("integration_bridge", default="br-int", help="The integration bridge."),
    cfg.StrOpt("tunnel_bridge", default="br-tun", help="The tunnel bridge."),
    cfg.StrOpt("datapath_type", default="netdev", choices=[
        ("netdev", "userspace datapath; no kernel module needed"),
        ("system", "the openvswitch kernel module")],
        help="Datapath type of every bridge."),
    cfg.IPOpt("local_ip", default="127.0.0.1",
              help="Tunnel endpoint address of this box."),
    cfg.ListOpt("tunnel_types", default=["vxlan"],
                item_type=types.String(choices=["vxlan", "geneve", "gre"]),
                help="Tunnel types the agent offers."),
    cfg.ListOpt("bridge_mappings", default=[],
                help="physnet:bridge pairs for flat/VLAN networks."),
    cfg.PortOpt("of_listen_port", default=6633,
                help="The agent's OpenFlow controller port (on 127.0.0.1)."),
    cfg.StrOpt("firewall_driver", default="hybridhost_openvswitch",
               choices=["hybridhost_openvswitch", "openvswitch", "noop"],
               help="Security groups. hybridhost_openvswitch: neutron's openvswitch "
                    "firewall, applying a change of a remote group's members to the "
                    "address flows only (neutron's own rewrites every port naming the "
                    "group: O(N) per boot on a shared group). openvswitch: neutron's "
                    "own. noop: none. iptables_hybrid cannot work with a netdev "
                    "datapath."),
    cfg.BoolOpt("agent_wakes_on_events", default=True,
                help="Run the OVS agent as hybridhost-openvswitch-agent: neutron's agent "
                     "whose loop ends its wait as soon as its OVSDB monitor reports a "
                     "port (or neutron a port update), instead of sleeping out its "
                     "1 s polling_interval, so a container's port is wired while "
                     "Docker starts it (measured: the wait for network-vif-plugged "
                     "once the container is up, p50 0.36 s with neutron's agent, none "
                     "with this one). It also wires again a port neutron's agent "
                     "dropped (an OpenFlow port and no VLAN tag at two looks 10 s "
                     "apart). False: neutron-openvswitch-agent itself, without either."),
    cfg.Opt("vif_prefix", type=linknames.VifPrefix(), default="hhd",
            help="Name prefix of container VIFs on the integration bridge; distinct "
                 "from libvirt's 'tap' so each side only touches its own ports. 2-4 "
                 "lower-case letters; 'tap' and any prefix of another program's links "
                 "(qvo, qvb, qr-, qg-, br, veth, eth, ...) are refused."),
]
