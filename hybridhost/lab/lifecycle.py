"""lab up / status / down / purge: the control plane and the box under one supervisord."""

import dataclasses
import logging

from hybridhost import box
from hybridhost import conf as hh_conf
from hybridhost import exception
from hybridhost import lab_state
from hybridhost import plan as box_plan
from hybridhost import progress as progress_lines
from hybridhost import readiness
from hybridhost import restarts
from hybridhost.lab import access
from hybridhost.lab import bootstrap
from hybridhost.lab import demo
from hybridhost.lab import errors
from hybridhost.lab import host
from hybridhost.lab import public_bridge
from hybridhost.ledger import model as ledger_model
from hybridhost.ledger import placement
from hybridhost.render import control_plane
from hybridhost.render import l3_agent
from hybridhost.render import supervisor as box_supervisor

LOG = logging.getLogger(__name__)

HEALTH_TIMEOUT = 240
OVS_AGENT = "neutron-openvswitch-agent"
DHCP_AGENT_TYPE = "DHCP agent"
DHCP_PORT_OWNER = "network:dhcp"
L3_AGENT_TYPE = "L3 agent"


def _enable(conf):
    """The lab runs only where hybridhost.conf says so; then check its options."""
    if not conf.lab.enabled:
        raise exception.ConfigInvalid(
            option="[lab] enabled",
            reason="is false, so 'hybridhost render' and 'up' would not keep the lab's "
                   "control plane; set [lab] enabled = true in hybridhost.conf (the "
                   "default file tools/up writes does).")
    hh_conf.check_lab(conf)


def _restart(conf, names, progress, why):
    restarts.restart(box.patient_client(conf), names, progress, why)


def _stop_group(conf, group, wait):
    box.patient_client(conf).stop_group(group, wait)


def _start_programs(conf, names):
    client = box.client_for(conf)
    for name in names:
        client.ensure_started(name)


def _ovs_agent_alive(conn, plan):
    try:
        agents = list(conn.network.agents(binary=OVS_AGENT))
    except errors.api_errors() as err:
        LOG.debug("neutron not ready: %s", err)
        return False
    return any(a.is_alive and a.host == plan.agent.host for a in agents)


def _wait_ovs_agent(conf, secrets, plan, progress, attempts=3, per_attempt=45):
    """Restart the OVS agent until it reports to the RPC server.

    An agent started before the RPC server consumed loses its first calls and backs
    off for minutes (60 s, 120 s, 240 s timeouts); the DHCP agent likewise, so it
    starts only after this.
    """
    bootstrap.wait_http(control_plane.url(conf, "neutron"), 120, "the neutron API")
    conn = bootstrap.admin_connection(conf, secrets)
    agent = "%s:%s" % (box_supervisor.BOX_GROUP, plan.agent.program)
    try:
        for attempt in range(1, attempts + 1):
            _restart(conf, [agent], progress, "attempt %d to reach the RPC server" % attempt)
            try:
                readiness.wait(lambda: None if _ovs_agent_alive(conn, plan) else "silent",
                               per_attempt, "the OVS agent's report", interval=1)
            except exception.DependencyNotReady:
                continue
            progress("the OVS agent reports to the RPC server")
            return
    finally:
        conn.close()


def _bootstrap(conf, plan, secrets, progress):
    fresh = not bootstrap.schemas_done(conf, secrets)
    if fresh:
        # The services would only crash-loop against empty databases meanwhile.
        _stop_group(conf, control_plane.SERVICES_GROUP, False)
        progress("control services held back until the databases exist")
    bootstrap.wait_tcp(conf.lab.rabbit_port, 120, "RabbitMQ")
    progress("MariaDB and RabbitMQ answer")
    changed = bootstrap.run(conf, plan, secrets, progress)
    services = ["%s:%s" % (group, name) for group, name in
                control_plane.program_names(conf, plan) if group == control_plane.SERVICES_GROUP]
    if fresh:
        _start_programs(conf, [name for name in services if name.endswith(":keystone")])
    identity_changed = bootstrap.identity(conf, secrets, progress)
    if fresh:
        # Started only now: a client that found no catalog entry keeps failing.
        _start_programs(conf, [name for name in services if not name.endswith(
            (":keystone", ":" + control_plane.DHCP_AGENT, ":" + l3_agent.L3_AGENT))])
    if fresh or identity_changed:
        _restart(conf, ["%s:%s" % (box_supervisor.BOX_GROUP, side.program)
                        for side in plan.sides], progress,
                 "they started before the lab's users and catalog existed")
    if fresh:
        _wait_ovs_agent(conf, secrets, plan, progress)
    # Whatever is stopped or gave up (FATAL) gets another start now that all it
    # needs exists; running programs are left alone.
    box.client_for(conf).start_all()
    return changed


@dataclasses.dataclass(frozen=True)
class Health:
    computes: tuple      # ((host, state, status), ...)
    hypervisors: tuple   # ((name, state), ...)
    agents: tuple        # ((type, host, alive), ...)

    def problems(self, plan, dhcp_agent=False, l3_agent=False):
        found = []
        up_hosts = {host for host, state, status in self.computes
                    if state == "up" and status == "enabled"}
        for side in plan.sides:
            if side.host not in up_hosts:
                found.append("nova-compute %s is not up" % side.host)
        names = {name for name, _ in self.hypervisors}
        for side in plan.sides:
            if side.nodename not in names:
                found.append("hypervisor %s is not registered" % side.nodename)
        ovs = [a for a in self.agents if a[0] == "Open vSwitch agent"]
        if len(ovs) != 1 or not ovs[0][2] or ovs[0][1] != plan.agent.host:
            found.append("expected exactly one live Open vSwitch agent on %s, got %s"
                         % (plan.agent.host, ovs))
        if dhcp_agent and not any(a[0] == DHCP_AGENT_TYPE and a[2] for a in self.agents):
            found.append("no live DHCP agent")
        if l3_agent and not any(a[0] == L3_AGENT_TYPE and a[2] for a in self.agents):
            found.append("no live L3 agent")
        return found


def health(conn):
    computes = tuple((s.host, s.state, s.status) for s in conn.compute.services()
                     if s.binary == "nova-compute")
    hypervisors = tuple((h.name, h.state) for h in conn.compute.hypervisors())
    agents = tuple((a.agent_type, a.host, a.is_alive) for a in conn.network.agents())
    return Health(computes, hypervisors, agents)


def wait_healthy(conn, plan, progress, dhcp_agent=False, timeout=HEALTH_TIMEOUT,
                 l3_agent=False):
    ready = ["both nova-computes", "their hypervisors", "the OVS agent"] + (
        ["the DHCP agent"] if dhcp_agent else []) + (["the L3 agent"] if l3_agent else [])
    reported = {}

    def healthy():
        try:
            problems = health(conn).problems(plan, dhcp_agent, l3_agent)
        except errors.api_errors() as err:
            problems = ["the APIs do not answer yet (%s)" % _first_line(err)]
        if problems != reported.get("last"):
            progress("waiting: %s" % "; ".join(problems) if problems else
                     "%s and %s are up" % (", ".join(ready[:-1]), ready[-1]))
            reported["last"] = problems
        return "; ".join(problems) or None

    try:
        readiness.wait(healthy, timeout, "the lab's computes and agents", interval=2)
    except exception.DependencyNotReady as err:
        raise exception.StartTimeout(seconds=timeout, what=err.kwargs["reason"],
                                     log=conf_logs_hint(plan)) from None


def _first_line(err):
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _forget_dhcp(conn, conf, plan, progress):
    """[lab] dhcp_agent turned off: what a DHCP agent left (its agent record, its ports,
    dnsmasq, qdhcp namespaces) goes, so 'network agent list' shows only the OVS agent
    and VMs' config drives carry static addresses."""
    # supervisord no longer runs it, though neutron calls it alive for agent_down_time.
    stale = [agent for agent in conn.network.agents(agent_type=DHCP_AGENT_TYPE)
             if agent.host == plan.agent.host]
    for agent in stale:
        conn.network.delete_agent(agent)
    # While its port exists nova tells VMs to use DHCP (network_data.json "ipv4_dhcp").
    ports = [port for port in conn.network.ports(device_owner=DHCP_PORT_OWNER)
             if port.binding_host_id == plan.agent.host]
    for port in ports:
        conn.network.delete_port(port)
    if ports:
        from hybridhost.virt.docker import ovs

        ovs.delete_ports_of(conf.ovs.ovsdb_connection, [port.id for port in ports])
    dnsmasq, namespaces = host.stop_dnsmasq(conf), host.remove_dhcp_namespaces(conf)
    if stale or ports or dnsmasq or namespaces:
        progress("DHCP agent is off ([lab] dhcp_agent): removed %d agent record(s), %d "
                 "DHCP port(s), %d dnsmasq, %d qdhcp namespace(s)"
                 % (len(stale), len(ports), dnsmasq, namespaces))


def conf_logs_hint(plan):
    return "the program logs under [paths] log_root ('hybridhost lab status')"


def _prepare_host(conf, progress):
    """The lab's secrets, directories, MariaDB data and qemu.conf; returns the secrets."""
    secrets, created = lab_state.ensure_secrets(conf)
    progress("passwords %s (%s, mode 0600)" % ("generated" if created else "kept",
                                               lab_state.layout(conf).secrets_file))
    bootstrap.prepare_directories(conf)
    if bootstrap.install_mariadb_datadir(conf):
        progress("MariaDB data directory created")
    if conf.host.manage_services and "libvirtd" in conf.host.managed_services:
        if host.configure_qemu():
            progress("%s: QEMU runs as root, security_driver none" % host.QEMU_CONF)
    return secrets


def _public_bridge(conf, progress):
    """br-ex and the box's address on it ([lab] l3_agent), once OVSDB answers."""
    if not conf.lab.l3_agent:
        return
    readiness.wait(lambda: readiness.ovsdb(conf.ovs.ovsdb_connection), 60, "OVSDB")
    created, offload = public_bridge.ensure_ovsdb(conf)
    if offload and conf.host.manage_services and "ovs-vswitchd" in conf.host.managed_services:
        _restart(conf, ["%s:ovs-vswitchd" % box_supervisor.HOST_GROUP], progress,
                 "it reads other_config:%s only at start" % public_bridge.OFFLOAD_KEY)
    elif offload:
        progress("set other_config:%s=true in OVSDB: restart ovs-vswitchd for TCP "
                 "through veths" % public_bridge.OFFLOAD_KEY)
    plan, changed = public_bridge.ensure_address(conf)
    if created or changed:
        progress("%s: the box is %s on the external network %s" % (
            public_bridge.BRIDGE, plan.host_interface, plan.network))


def _wait_running(conf, wait, progress):
    bad = [p for p in box.follow(conf, wait, progress) if not p.running]
    if bad:
        raise exception.ProgramNotRunning(
            program=", ".join(p.full_name for p in bad),
            state="not RUNNING (see %s/<program>.stdout.log)" % conf.paths.log_root)


def _lab_content(conn, conf, plan, progress):
    """The projects' quotas hold what the box can; without [lab] dhcp_agent, what a
    DHCP agent left goes; with [lab] demo, the demo content is made."""
    try:
        progress(bootstrap.quotas_line(plan, bootstrap.ensure_quotas(conn, plan)))
    except errors.api_errors() as err:
        raise errors.LabApiFailed(service="nova and neutron", doing="setting the lab's "
                                  "quotas", reason=_first_line(err)) from err
    if not conf.lab.dhcp_agent:
        try:
            _forget_dhcp(conn, conf, plan, progress)
        except errors.api_errors() as err:
            raise errors.LabApiFailed(service="neutron", doing="removing what the DHCP "
                                      "agent left", reason=_first_line(err)) from err
    if not conf.lab.l3_agent and host.remove_router_namespaces(conf):
        progress("L3 agent is off ([lab] l3_agent): removed its qrouter namespaces")
    if conf.lab.demo:
        try:
            demo.ensure(conn, conf, progress)
        except errors.api_errors() as err:
            raise errors.LabApiFailed(service="OpenStack", doing="creating the demo content",
                                      reason=_first_line(err)) from err


def up(conf, out, wait=300):
    """Bring the lab and the box up (idempotent). Returns the Progress for timing."""
    progress = progress_lines.Progress(out)
    _enable(conf)
    bootstrap.require_python_packages()
    running = box.is_up(conf)
    if not running:
        box.refuse_taken_ports(conf)
    secrets = _prepare_host(conf, progress)
    if running:
        # Before box.up restarts the OVS agent, which waits for the bridges it maps.
        _public_bridge(conf, progress)
    # The lab starts what is stopped itself, in order, once its databases exist.
    plan = box.up(conf, progress, start_stopped=False).plan
    _public_bridge(conf, progress)
    _bootstrap(conf, plan, secrets, progress)
    _wait_running(conf, wait, progress)
    conn = bootstrap.admin_connection(conf, secrets)
    wait_healthy(conn, plan, progress, conf.lab.dhcp_agent, l3_agent=conf.lab.l3_agent)
    _lab_content(conn, conf, plan, progress)
    for path in access.write(conf, secrets):
        progress("wrote %s (mode 0600)" % path)
    conn.close()
    progress("lab %s is up: . %s  (or OS_CLOUD=%s with OS_CLIENT_CONFIG_FILE=%s)" % (
        plan.box, lab_state.layout(conf).openrc, access.CLOUD_NAME,
        lab_state.layout(conf).clouds_yaml))
    return progress


def _through_apis(conf, plan):
    """``(health_or_error, ledger)`` through one admin connection."""
    try:
        conn = bootstrap.admin_connection(conf, lab_state.load_secrets(conf))
        result = health(conn)
    except Exception as err:  # noqa: BLE001  any API failure is a status to show
        LOG.debug("Lab APIs not answering", exc_info=True)
        result = "the APIs do not answer: %s" % _first_line(err)
        return result, ledger_model.build(plan, unknown=result)
    return result, placement.observe(plan, lambda: conn)


def status(conf):
    """``(programs, health_or_error, ledger)``; programs is None when supervisord is
    down, and the ledger then holds the plan's figures only."""
    if not lab_state.exists(conf):
        raise exception.ConfigInvalid(option="lab", reason="no lab here (%s missing); run "
                                      "'hybridhost lab up'." % lab_state.layout(conf).secrets_file)
    plan = box_plan.build(conf)
    try:
        programs = box.client_for(conf).programs()
    except exception.SupervisorUnreachable:
        return None, None, ledger_model.build(
            plan, unknown="the lab is down (supervisord is not running)")
    return (programs,) + _through_apis(conf, plan)


def _box_down(conf):
    """``(containers stopped, leftovers killed)``, or None when supervisord was not up."""
    plan = box_plan.build(conf)
    if box.is_up(conf):
        box.stop_kvm_compute(conf, plan, box.patient_client(conf))
        host.stop_guests(conf)
    result = box.down(conf, plan, stop_timeout=conf.supervisor.stop_timeout + 30)
    host.stop_dnsmasq(conf)
    return result


def down(conf):
    _enable(conf)
    return _box_down(conf)


def purge(conf):
    """Remove the lab's guests and containers (when the box runs), stop everything,
    then delete the lab's state and rendered files."""
    stopped = None
    if box.is_up(conf):
        host.stop_guests(conf, undefine=True)
        host.remove_containers(conf, box_plan.build(conf))
        # While OVSDB runs: the routers' ports on br-int go with their namespaces.
        host.remove_router_namespaces(conf)
        stopped = _box_down(conf)
    host.stop_dnsmasq(conf)
    host.remove_dhcp_namespaces(conf)
    host.remove_router_namespaces(conf)
    return stopped, lab_state.purge(conf)
