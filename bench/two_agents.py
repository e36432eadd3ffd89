#!/usr/bin/env python3
"""Scenario: the old layout (two OVS agents on one br-int) against hybridhost's (one).

On the lab, twice with the same N containers (hh.container.tiny running ``sleep``, the
hh-bench-sleep image of bench/density.py, so their init does not load the box):
  1. the old layout: a second neutron-openvswitch-agent runs as the Docker side's host
     (``<box>-docker``) on the lab's br-int and br-tun, as this process's child, from a
     copy of the lab's agent configuration (its own host, state, locks, log file and
     OpenFlow controller port, added to the bridges' controllers beside the lab
     agent's; see bench/two_agents_agent.py). The N containers boot
     while it runs, and each container's port is bound to ``<box>-docker`` (an admin
     port update of binding:host_id) as soon as the container is ACTIVE;
  2. both agents run for ``--period`` s; every ``--interval`` s each container pings
     the next two of a ring from its network namespace (bench/density.py's way);
  3. the lab is repaired: the second agent stopped, its controllers removed, the ports
     bound to the lab's agent host again, its neutron agent row and flows deleted, and
     the lab's agent made to set its bridges up again and rewire every port (it is told
     Open vSwitch restarted: its canary flow is deleted); the containers are deleted and
     nothing may be left;
  4. the hybridhost layout: the same without the second agent and without rebinding.
All along, br-int is sampled every second through ovsdbapp. A container is lost when a
ping round finds it cut off (no ping from it or to it answered), when its port is seen
on VLAN 4095 during the boots or the measured period, or when it does not boot.

Why the ports are rebound after ACTIVE: the Docker driver binds ports to
``[hybridhost_docker] network_binding_host`` (the lab's agent host), nova overwrites
binding:host_id with it when it allocates the network (ports created beforehand with
another host change host), and the lab's configuration is not ours to edit. Moving the
binding through neutron gives the wire state of the old layout, where the Docker side's
ports belonged to an agent of its own: the second agent wires them, the lab's agent
gets the port updates and declares them dead, and each agent's start and stale-flow
clean-up deletes the other's flows. Boots happen with both agents running, as in the
old layout; only their network-vif-plugged comes from the lab's agent.

Prints each layout's lost containers (which, and why) and the two counts side by side.
The old layout's count is a figure; when it is 0 the scenario did not reproduce the
problem, and says so. Exit status 0 only when the hybridhost layout lost none and both
runs were clean (every boot and rebind done, the second agent gone, the lab repaired,
nothing left); 1 otherwise; 2 when the lab is not up, cannot hold N containers, or has
other ports on br-int (the second agent would cut them off too; ``--share-lab`` to go
on). Ctrl-C and SIGTERM unwind: the second agent is stopped and the lab repaired.
Needs root on the box (namespaces, OVSDB, OpenFlow, Docker).

    PYTHONPATH=. /opt/hybridhost/venv/bin/python bench/two_agents.py [--containers 10] \\
        [--period 60] [--interval 1] [--concurrency 2] [--json]
"""

import argparse
import dataclasses
import json
import sys
import time

from bench import boot
from bench import density_box as box
from bench import density_nova as nova
from bench import lab_session
from bench import two_agents_agent as second
from bench import two_agents_net as net
from bench import two_agents_stats as stats
from hybridhost import progress as hh_progress
from tests.e2e import lab as e2e

MIN_CONTAINERS = 10
NAME_PREFIX = "hh-two-agents"


@dataclasses.dataclass
class Layout:
    """What one layout's run booted and saw."""

    name: str
    records: list
    ports: dict = dataclasses.field(default_factory=dict)  # port id: container name
    rounds: list = dataclasses.field(default_factory=list)
    problems: list = dataclasses.field(default_factory=list)
    measured_until: float | None = None

    @property
    def names(self):
        return [record.name for record in self.records]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bench/two_agents.py", description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--containers", type=int, default=MIN_CONTAINERS,
                        help="containers booted in each layout (default and least %d)"
                             % MIN_CONTAINERS)
    parser.add_argument("--period", type=float, default=60.0,
                        help="seconds both agents run once the containers are up, "
                             "pinging (default 60)")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="least seconds between two ping rounds (default 1)")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="boots and deletes in flight at once (default 2)")
    parser.add_argument("--poll", type=float, default=1.0,
                        help="seconds between two reads of a boot's instance action")
    parser.add_argument("--share-lab", action="store_true",
                        help="go on when other ports are on br-int (the old layout's "
                             "second agent cuts them off too until the repair)")
    parser.add_argument("--allow-small", action="store_true",
                        help="allow fewer than %d containers (tests)" % MIN_CONTAINERS)
    parser.add_argument("--config-file", default=e2e.CONFIG)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    least = 2 if args.allow_small else MIN_CONTAINERS
    if args.containers < least:
        parser.error("--containers must be at least %d%s" % (
            least, "" if args.allow_small else " (--allow-small for tests)"))
    if args.period <= 0 or args.interval < 0 or args.concurrency < 1 or args.poll <= 0:
        parser.error("--period and --poll must be above 0, --interval at least 0, "
                     "--concurrency at least 1")
    return args


# --- one layout -------------------------------------------------------------------


def _boot(lab, args, targets, image, layout, rebind_to, progress):
    """Boot the layout's containers; with ``rebind_to``, bind each one's ports to that
    host as soon as it is ACTIVE."""
    progress("booting %d %s containers, %d at a time" % (
        len(layout.records), targets.container_flavor.name, args.concurrency))

    def done(record):
        if record.error is not None:
            progress("%s failed: %s" % (record.name, record.error))
        elif rebind_to is not None:
            problems = net.bind_ports(lab, record.server_id, rebind_to)
            layout.problems.extend(problems)
            progress("%s ACTIVE after %.1fs, %s" % (
                record.name, record.active_s,
                "; ".join(problems) or "its port bound to %s" % rebind_to))
        else:
            progress("%s ACTIVE after %.1fs" % (record.name, record.active_s))

    nova.launch_all(lab, layout.records, (targets.container_flavor, image, targets.network),
                    args.concurrency, args.poll, done)
    up = [record for record in layout.records if record.error is None]
    progress("%d/%d containers ACTIVE%s" % (
        len(up), len(layout.records),
        ", their ports bound to %s" % rebind_to if rebind_to else ""))
    layout.ports = net.port_map(lab, targets.network, layout.records)


def _measure(lab, args, layout, progress):
    progress("pinging around a ring of %d containers for %.0fs" % (
        len(layout.records), args.period))
    layout.rounds = net.ping_rounds(lab, layout.records, args.period, args.interval,
                                    lambda: progress.elapsed)
    layout.measured_until = progress.elapsed
    cut = sum(1 for _, results in layout.rounds
              if stats.cut_off(results, len(layout.records)))
    progress("%d ping rounds, %d with a container cut off" % (len(layout.rounds), cut))


def run_layout(lab, args, targets, image, name, baseline, progress):
    """Boot, measure, repair (the old layout) and delete; the layout's result."""
    layout = Layout(name, [nova.Boot(i, "container", "%s-%s-%d" % (NAME_PREFIX, name, i))
                           for i in range(1, args.containers + 1)])
    progress("--- %s ---" % stats.LAYOUT_TITLES[name])
    sampler = box.BridgeSampler(lab.conf, lambda: progress.elapsed).start()
    agent = None
    try:
        if name == stats.OLD:
            agent = second.SecondAgent(lab.plan, lab.plan.docker.host, baseline.api,
                                       lab.conf.ovs.run_dir)
            _start(lab, agent, progress)
        _boot(lab, args, targets, image, layout,
              lab.plan.docker.host if agent else None, progress)
        _measure(lab, args, layout, progress)
        if agent is not None and agent.failure():
            raise second.AgentFailed("%s during the run:\n%s" % (agent.failure(),
                                                                agent.log_tail()))
    except second.AgentFailed as err:
        layout.problems.append(str(err))
    finally:
        try:
            if agent is not None:
                layout.problems += net.repair(lab, agent, layout, baseline, progress)
        finally:
            sampler.stop()
            layout.problems += net.clean_up(lab, targets, layout, args.concurrency,
                                            progress)
    return _result(lab, layout, sampler)


def _start(lab, agent, progress):
    progress("starting a second %s as %s (config and log in %s)" % (
        second.PROGRAM, agent.host, agent.workdir))
    agent.start()
    row = agent.wait_alive(lab.conn)
    progress("the second agent is alive (neutron agent %s)" % row.id)


def _result(lab, layout, sampler):
    until = layout.measured_until
    episodes = [episode.as_dict() for episode in sampler.watch.episodes
                if until is None or episode.first_s <= until]
    instances = {record.server_id: record.name for record in layout.records if record.server}
    instances.update(net.port_names(lab, layout.ports))
    dead = stats.dead_by_instance(episodes, instances)
    failed = {record.name: record.error for record in layout.records if record.error}
    found = stats.layout_result(layout.name, layout.names, layout.rounds, dead, failed,
                                layout.problems, [record.active_s for record in layout.records
                                                  if record.active_s is not None])
    found["other_ports_on_dead_vlan"] = sorted(
        {episode["port"] for episode in episodes
         if episode["instance"] not in instances and episode["port"] not in instances})
    found["bridge_samples"] = sampler.watch.samples
    return found


# --- the whole scenario -------------------------------------------------------------


def _refusal(lab, args, targets, baseline):
    """Why the scenario cannot run on this lab now (None: it can)."""
    problems, room = nova.capacity(lab, targets, 0, args.containers)
    if problems:
        return "the lab cannot hold %d containers: %s" % (args.containers, "; ".join(problems))
    others = net.ports_with_iface_id(lab, baseline.api)
    if others and not args.share_lab:
        return ("%d other port(s) on %s (%s): the old layout's second agent "
                "would cut them off too; run when the lab is idle or pass --share-lab" % (
                    len(others), baseline.bridge, ", ".join(others[:5])))
    return None


def execute(lab, args, targets, baseline, progress):
    machine = net.machine()
    progress("creating the image %s (the demo image running sleep)" % boot.BENCH_IMAGE)
    image = boot.bench_image(lab)
    layouts = []
    try:
        for name in (stats.OLD, stats.NEW):
            layouts.append(run_layout(lab, args, targets, image, name, baseline, progress))
    finally:
        image_problems = net.forget_image(lab, targets, image)
    layouts[-1]["problems"] += image_problems + baseline.changes(lab)
    return stats.result(*layouts, extra={"machine": machine})


def main(argv=None):
    args = parse_args(argv)
    opened = lab_session.open_lab("two_agents.py", args.config_file)
    if opened is None:
        return 2
    lab, targets = opened
    baseline = net.Baseline.take(lab)
    refused = _refusal(lab, args, targets, baseline)
    if refused:
        lab_session.complain("two_agents.py", refused)
        return 2
    progress = hh_progress.Progress(hh_progress.printer(sys.stderr))
    started = time.monotonic()
    try:
        found = execute(lab, args, targets, baseline, progress)
    except KeyboardInterrupt:
        print("bench/two_agents.py: interrupted (the second agent was stopped and what "
              "was booted deleted; see above)", file=sys.stderr)
        return 130
    found["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(found, indent=2) if args.json else "\n".join(stats.lines(found)))
    return found["exit_status"]


if __name__ == "__main__":
    sys.exit(main())
