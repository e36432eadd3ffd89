"""conf/watcher.conf: what hybridhost-watcher watches, and how.

The watcher reads this one rendered file, not hybridhost.conf: the programs it repairs
with what each needs (the start order), the RPC server each nova-compute and the agent
answer a ping on, and the daemons whose API it probes.
"""

import os

from hybridhost.render import ini
from hybridhost.render import supervisor

WATCHER_CONF = "conf/watcher.conf"
STATE_FILE = "hybridhost-watcher.json"
#: oslo.messaging topics the RPC ping is sent on (with the server = the program's host).
#: nova-compute serves 'compute'; neutron 29's OVS agent serves only fanout topics
#: q-agent-notifier-<resource>-<operation>, and every RPC server also listens on
#: '<topic>.<server>', so the tunnel-update topic reaches the one agent directly.
COMPUTE_TOPIC = "compute"
AGENT_TOPIC = "q-agent-notifier-tunnel-update"
#: Each service's control_exchange: nova and neutron set their own default.
COMPUTE_EXCHANGE, AGENT_EXCHANGE = "nova", "neutron"
_SETTINGS = ("check_interval", "probe_timeout", "hang_timeout", "rpc_timeout",
             "rpc_hang_timeout", "max_repairs", "repair_backoff", "reset_after",
             "vif_interval", "vif_repair", "metrics_host", "metrics_port")


def state_file(conf):
    """Where the watcher writes its last round, for 'hybridhost status'."""
    return os.path.join(conf.paths.run_root, STATE_FILE)


def log_file(conf):
    return conf.watcher.log_file or os.path.join(conf.paths.log_root,
                                                 "hybridhost-watcher.log")


def _host(conf, name):
    return "%s:%s" % (supervisor.HOST_GROUP, name) if _managed(conf, name) else None


def _managed(conf, name):
    return conf.host.manage_services and name in conf.host.managed_services


def _box(name):
    return "%s:%s" % (supervisor.BOX_GROUP, name)


def _needs(*names):
    return ",".join(name for name in names if name) or None


def _rpc(exchange, topic, server):
    return [("rpc_exchange", exchange), ("rpc_topic", topic), ("rpc_server", server)]


def _programs(conf, plan):
    agent, ovsdb, vswitchd = _box(plan.agent.program), _host(conf, "ovsdb-server"), \
        _host(conf, "ovs-vswitchd")
    sections = [
        (ovsdb, []),
        (vswitchd, [("needs", _needs(ovsdb))]),
        (_host(conf, "dockerd"), []),
        (_host(conf, "virtlogd"), []),
        (_host(conf, "libvirtd"), [("needs", _needs(_host(conf, "virtlogd")))]),
        (agent, [("needs", _needs(vswitchd or ovsdb))]
         + _rpc(AGENT_EXCHANGE, AGENT_TOPIC, plan.agent.host)),
        (_box(plan.docker.program), [("needs", _needs(agent, _host(conf, "dockerd")))]
         + _rpc(COMPUTE_EXCHANGE, COMPUTE_TOPIC, plan.docker.host)),
        (_box(plan.kvm.program), [("needs", _needs(agent, _host(conf, "libvirtd")))]
         + _rpc(COMPUTE_EXCHANGE, COMPUTE_TOPIC, plan.kvm.host)),
    ]
    return [("program:%s" % name, items) for name, items in sections if name]


def _services(conf):
    ovs = conf.ovs
    return [
        ("service:ovsdb", [("kind", "ovsdb"), ("target", ovs.ovsdb_connection),
                           ("program", _host(conf, "ovsdb-server"))]),
        ("service:ovs-vswitchd", [("kind", "unixctl"),
                                  ("target", os.path.join(ovs.run_dir, "ovs-vswitchd.ctl")),
                                  ("program", _host(conf, "ovs-vswitchd"))]),
        ("service:docker", [("kind", "docker"), ("target", conf.docker.url),
                            ("program", _host(conf, "dockerd"))]),
        ("service:libvirt", [("kind", "libvirt"), ("target", conf.libvirt.connection_uri),
                             ("program", _host(conf, "libvirtd"))]),
    ]


def _vifs(conf, plan):
    """What 'hybridhost vifs' reads (cmd/vifs.py settings_from), for the VIF check."""
    return ("vifs", [
        ("bridge", conf.ovs.integration_bridge), ("owner", plan.docker.host),
        ("prefix", conf.ovs.vif_prefix), ("ovsdb_connection", conf.ovs.ovsdb_connection),
        ("docker_url", conf.docker.url), ("docker_api_version", conf.docker.min_api_version),
        ("instances_path", plan.docker.instances_path), ("bin_dir", plan.bin_dir),
        # The privsep helper reads the Docker side's vif_prefix there, as 'hybridhost vifs'.
        ("helper_config", plan.docker.config_file),
    ])


def render_watcher(conf, plan):
    settings = [(name, getattr(conf.watcher, name)) for name in _SETTINGS]
    settings += [
        ("log_file", log_file(conf)),
        ("state_file", state_file(conf)),
        ("supervisor_socket", supervisor.socket_path(conf)),
        # Stopping a program may take its whole stop timeout.
        ("supervisor_timeout", conf.supervisor.stop_timeout + 30),
        ("transport_url", conf.openstack.transport_url),
    ]
    sections = [("watcher", settings)] + _programs(conf, plan) + _services(conf)
    if conf.watcher.vif_interval:
        sections.append(_vifs(conf, plan))
    return ini.render(sections, comment=(
        "hybridhost-watcher: the programs it repairs (needs = what each waits for), the\n"
        "RPC servers it pings and the daemons whose API it probes."))
