"""The lab's L3 agent: l3_agent.ini, its supervisord program, and the external bridge
the box's one OVS agent maps (``[lab] l3_agent``).

One agent, legacy routers (no DVR, no HA: one box), on the OVS agent's host so that
neutron binds the routers' ports to that live agent. Floating IPs and the routers'
gateways live on the flat network ``public``, wired by the OVS agent to ``br-ex``.
"""

import os

from hybridhost import lab_state
from hybridhost.render import ini
from hybridhost.render import messaging
from hybridhost.render import neutron
from hybridhost.render import supervisor as box_supervisor

L3_AGENT = "neutron-l3-agent"
CONFIG_FILE = "l3_agent.ini"
STATE = "neutron-l3"
PHYSNET = "public"
EXTERNAL_BRIDGE = "br-ex"
SERVICE_PLUGIN = "router"
PRIORITY = 22


def enabled(conf):
    return bool(conf.lab.enabled and conf.lab.l3_agent)


def service_plugins(conf):
    """neutron's ``service_plugins``: the router service only with the L3 agent."""
    return SERVICE_PLUGIN if enabled(conf) else ""


def bridge_mappings(conf):
    """``[ovs] bridge_mappings`` plus ``public:br-ex`` when the lab routes."""
    mappings = list(conf.ovs.bridge_mappings or [])
    wanted = "%s:%s" % (PHYSNET, EXTERNAL_BRIDGE)
    if enabled(conf) and wanted not in mappings:
        mappings.append(wanted)
    return mappings


def mapped_bridges(conf):
    """The bridges the OVS agent needs before it starts (it exits on a missing one)."""
    return [mapping.split(":", 1)[1] for mapping in bridge_mappings(conf)]


def render_l3_agent(conf, plan, transport_url, path):
    lay = lab_state.layout(conf)
    ovs = conf.ovs
    return ini.render([
        ("DEFAULT", [
            # The OVS agent's host: neutron binds qr-/qg- ports to that live agent.
            ("host", plan.agent.host),
            ("transport_url", transport_url),
            ("state_path", lay.path(STATE)),
            ("interface_driver", "openvswitch"),
            # veth pairs, as the DHCP agent: an OVS internal port of a netdev bridge is
            # a tap owned by ovs-vswitchd and dies with it.
            ("ovs_use_veth", True),
            ("agent_mode", "legacy"),
            # VMs read metadata from their config drive, containers from the driver.
            ("enable_metadata_proxy", False),
            ("rpc_response_timeout", 20),
            ("use_stderr", False),
        ]),
        *neutron.namespace_agent_sections(ovs, plan, path),
        ("oslo_concurrency", [("lock_path", lay.path(STATE, "locks"))]),
        messaging.rabbit_section(conf.openstack.amqp_durable_queues),
    ], comment="neutron-l3-agent of the lab (legacy routers, beside the box's OVS agent).")


def config_file(plan, lab_dir):
    return os.path.join(plan.config_dir, lab_dir, CONFIG_FILE)


def config_files(conf, plan, lab_dir, transport_url):
    """``{relative path: text}``: l3_agent.ini when the lab routes."""
    if not enabled(conf):
        return {}
    return {"%s/%s" % (lab_dir, CONFIG_FILE): render_l3_agent(
        conf, plan, transport_url, config_file(plan, lab_dir))}


def programs(conf, plan, lab_dir):
    """``[(name, command, priority, startsecs, environment)]``: the L3 agent, if any."""
    if not enabled(conf):
        return []
    needs = [("--ovsdb", conf.ovs.ovsdb_connection),
             ("--bridge", conf.ovs.integration_bridge)]
    return [(L3_AGENT, box_supervisor.command_line(
        *box_supervisor.wait_for_argv(conf, plan, needs),
        os.path.join(plan.bin_dir, L3_AGENT), "--config-file", config_file(plan, lab_dir)),
        PRIORITY, box_supervisor.STARTSECS, ())]


class _OvsView:
    """hybridhost.conf with ``[ovs] bridge_mappings`` replaced (see ConfView)."""

    def __init__(self, conf, mappings):
        self._conf, self._mappings = conf, mappings

    def __getattr__(self, name):
        if name == "bridge_mappings":
            return self._mappings
        return getattr(self._conf, name)

    def __getitem__(self, name):
        return self.__getattr__(name)


class _ConfView:
    def __init__(self, conf, ovs):
        self._conf, self._ovs = conf, ovs

    def __getattr__(self, name):
        return self._ovs if name == "ovs" else getattr(self._conf, name)

    def __getitem__(self, name):
        return self._ovs if name == "ovs" else self._conf[name]


def with_external_bridge(conf):
    """The configuration the OVS agent renders from: its mappings hold ``public``."""
    if not enabled(conf):
        return conf
    return _ConfView(conf, _OvsView(conf.ovs, bridge_mappings(conf)))
