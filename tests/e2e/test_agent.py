"""The box's one OVS agent in the lab: ``hybridhost-openvswitch-agent`` (neutron's agent,
woken by its OVSDB monitor, wiring again the ports it dropped), seen from its process
and its own log while containers come and go. How much sooner a boot ends is
bench/boot.py's to say, not a test's."""

import contextlib
import datetime
import os
import re
import signal

import psutil

from hybridhost import box
from hybridhost import readiness
from hybridhost.render import neutron as render_neutron
from hybridhost.virt.docker import ovs
from hybridhost.virt.docker import vifs
from tests.e2e import lab as e2e

STARTED = re.compile(r"^(\S+ \S+) .*Agent rpc_loop - iteration:(\d+) started")
COMPLETED = re.compile(r"Agent rpc_loop - iteration:(\d+) completed\. Processed ports "
                       r"statistics: \{'regular': \{'added': (\d+), 'updated': (\d+), "
                       r"'removed': (\d+)")


def _iterations(path, offset):
    """``{iteration: (started at, ports added + updated + removed)}`` from ``offset``."""
    started, ports = {}, {}
    with open(path, errors="replace") as handle:
        handle.seek(offset)
        for line in handle:
            if match := STARTED.search(line):
                started[int(match.group(2))] = datetime.datetime.strptime(
                    match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
            elif match := COMPLETED.search(line):
                ports[int(match.group(1))] = sum(int(n) for n in match.groups()[1:])
    return {n: (started[n], ports[n]) for n in started if n in ports}


def _early_wakes(iterations):
    """Iterations with ports to wire that started sooner after the previous one started
    than neutron's loop can (it sleeps until polling_interval has passed)."""
    return [n for n, (at, ports) in sorted(iterations.items())
            if ports and n - 1 in iterations
            and at - iterations[n - 1][0] < render_neutron.POLLING_INTERVAL_S]


def test_the_agent_is_hybridhosts(lab):
    programs = box.client_for(lab.conf).programs()
    agent = next(p for p in programs if p.name == lab.plan.agent.program)
    assert agent.state == "RUNNING"
    cmdline = " ".join(psutil.Process(agent.pid).cmdline())
    assert "/hybridhost-openvswitch-agent --config-file" in cmdline, cmdline


def test_the_agent_wakes_for_new_ports_before_its_polling_interval(lab):
    """Each boot and delete is a chance: the port comes in while the agent waits (most
    of its time, the lab otherwise idle) and the next iteration starts then."""
    log_file = lab.plan.agent.log_file
    offset = e2e.log_size(log_file)
    servers = []
    try:
        for number in range(3):
            server = e2e.create_on_demo_net(lab, "hh-e2e-agent-%d" % number,
                                            "hh.container.tiny")
            servers.append(server)
            e2e.wait_active(lab.conn, server)
    finally:
        e2e.delete_servers(lab, servers)
    iterations = _iterations(log_file, offset)
    with_ports = [n for n, (_at, ports) in iterations.items() if ports]
    assert with_ports, "the agent logged no iteration wiring a port since %d" % offset
    assert _early_wakes(iterations), (
        "no iteration with ports started within %ss of the previous one: %s" % (
            render_neutron.POLLING_INTERVAL_S, sorted(iterations.items())[-20:]))


# --- a port the agent dropped --------------------------------------------------------

REWIRE_TIMEOUT = 90
DOWN_TIMEOUT = 30


def _external_ids(lab, name):
    row = lab.ovsdb("Interface", [["name", "==", name]], ["external_ids"])[0]
    return dict(row["external_ids"][1])


def _tag(lab, name):
    """The VLAN tag of Port ``name``; None when it has none (OVSDB's empty set)."""
    rows = lab.ovsdb("Port", [["name", "==", name]], ["tag"])
    tag = rows[0]["tag"] if rows else None
    return tag if isinstance(tag, int) else None


@contextlib.contextmanager
def _frozen(lab, program):
    """``program`` (``group:name``, a supervisord program of the box) stopped with
    SIGSTOP meanwhile. The lab's watcher kills and restarts a program stopped for more
    than a few seconds: then there is no process left to continue."""
    pid = e2e.program(lab, program).pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def _drop_from_the_agent(lab, name, port_id):
    """The container's OVS port deleted until neutron's agent has taken it as gone (the
    port DOWN), then added bare and given its ``external_ids``: the agent skips the
    bare add (no ``iface-id``) and the update of a port it does not know, so it never
    wires the port again by itself. The Docker side's VIF scan, which would plug the
    port again at once, waits meanwhile."""
    ids = _external_ids(lab, name)
    api = ovs.OvsPorts(lab.conf.ovs.ovsdb_connection, owner=None).api

    def down():
        status = lab.conn.network.get_port(port_id).status
        return None if status == "DOWN" else "port %s is %s" % (port_id, status)

    with _frozen(lab, "hybridhost:%s" % lab.plan.docker.program):
        api.del_port(name, if_exists=True).execute(check_error=True)
        readiness.wait(down, DOWN_TIMEOUT, "port %s DOWN" % port_id, interval=0.2)
        api.add_port(lab.conf.ovs.integration_bridge, name).execute(check_error=True)
        api.db_set("Interface", name, ("external_ids", ids)).execute(check_error=True)


def test_a_port_the_agent_dropped_is_wired_again(lab):
    log_file = lab.plan.agent.log_file
    offset = e2e.log_size(log_file)
    server = e2e.create_on_demo_net(lab, "hh-e2e-agent-dropped", "hh.container.tiny")
    try:
        server = e2e.wait_active(lab.conn, server)
        port = next(iter(lab.conn.network.ports(device_id=server.id)))
        name = vifs.host_ifname(lab.conf.ovs.vif_prefix, port.id)
        assert _tag(lab, name), "%s: the agent never wired it" % name
        _drop_from_the_agent(lab, name, port.id)
        assert not _tag(lab, name)

        def wired():
            if not _tag(lab, name):
                return "%s has no VLAN tag" % name
            status = lab.conn.network.get_port(port.id).status
            return None if status == "ACTIVE" else "port %s is %s" % (port.id, status)

        readiness.wait(wired, REWIRE_TIMEOUT, "port %s wired again" % port.id, interval=0.5)
    finally:
        e2e.delete_servers(lab, [server])
    said = e2e.log_since(log_file, offset)
    assert re.search(r"Port %s \(%s\) .* wiring it again" % (port.id, name), said), (
        "wired again, but not by the agent's look for dropped ports:\n%s"
        % "\n".join(e2e.log_lines_naming(log_file, port.id)))
