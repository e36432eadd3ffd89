"""The single neutron Open vSwitch agent's configuration.

``rpc_ping_enabled`` makes its RPC servers answer ``oslo_rpc_server_ping``, the liveness
call of hybridhost-watcher (as in both nova-compute files).
"""

import os

from hybridhost.render import ini
from hybridhost.render import messaging

# The agent notices new ports only at its next loop; at neutron's default 2 s a port
# waits 1 s on average before neutron reports it up (and nova, which waits for
# network-vif-plugged, makes the instance ACTIVE). 1 s is the least neutron accepts.
POLLING_INTERVAL_S = 1


def namespace_agent_sections(ovs, plan, config_file):
    """The sections the lab's DHCP and L3 agents share: root without sudo, their ports
    on the integration bridge, and a privsep helper reading their own file."""
    return [
        ("agent", [("root_helper", "env")]),
        ("ovs", [("ovsdb_connection", ovs.ovsdb_connection),
                 ("integration_bridge", ovs.integration_bridge)]),
        ("privsep", [("helper_command", "%s --config-file %s" % (
            os.path.join(plan.bin_dir, "privsep-helper"), config_file))]),
    ]


def _ovs_section(ovs):
    return ("ovs", [
        ("integration_bridge", ovs.integration_bridge),
        ("tunnel_bridge", ovs.tunnel_bridge),
        ("datapath_type", ovs.datapath_type),
        ("local_ip", ovs.local_ip),
        ("bridge_mappings", ovs.bridge_mappings or None),
        ("ovsdb_connection", ovs.ovsdb_connection),
        ("of_listen_address", "127.0.0.1"),
        ("of_listen_port", ovs.of_listen_port),
    ])


def render_agent(conf, plan):
    agent = plan.agent
    ovs = conf.ovs
    sections = [
        ("DEFAULT", [
            ("host", agent.host),
            ("state_path", agent.state_path),
            ("log_dir", os.path.dirname(agent.log_file)),
            ("log_file", os.path.basename(agent.log_file)),
            ("transport_url", conf.openstack.transport_url),
            ("use_stderr", False),
            ("rpc_ping_enabled", True),
        ]),
        ("agent", [
            # Run as root without sudo: privsep and helpers are started through 'env'.
            ("root_helper", "env"),
            ("polling_interval", POLLING_INTERVAL_S),
            ("tunnel_types", ovs.tunnel_types or None),
        ]),
        _ovs_section(ovs),
        ("securitygroup", [
            ("firewall_driver", ovs.firewall_driver),
            ("enable_security_group", ovs.firewall_driver != "noop"),
        ]),
        messaging.rabbit_section(conf.openstack.amqp_durable_queues),
        ("oslo_concurrency", [("lock_path", agent.lock_path)]),
        ("privsep", [("helper_command", "%s --config-file %s" % (
            os.path.join(plan.bin_dir, "privsep-helper"), agent.config_file))]),
    ]
    return ini.render(sections, comment=(
        "The ONE neutron-openvswitch-agent of the box. Its host is the libvirt side's;\n"
        "the Docker side binds container ports to the same host."))
