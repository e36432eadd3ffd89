"""The box's one OVS agent in the lab: ``hybridhost-openvswitch-agent`` (neutron's agent,
woken by its OVSDB monitor), seen from its process and its own log while containers
come and go. How much sooner a boot ends is bench/boot.py's to say, not a test's."""

import datetime
import re

import psutil

from hybridhost import box
from hybridhost.render import neutron as render_neutron
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
