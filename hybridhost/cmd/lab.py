"""``hybridhost lab up|status|down|purge``: the embedded control plane and the box."""

import argparse
import json
import sys

from hybridhost import progress as progress_lines
from hybridhost.cmd import common

DESCRIPTION = """\
The lab: a minimal real OpenStack control plane (MariaDB, RabbitMQ, keystone,
placement, glance, nova API/conductor/scheduler, neutron API and RPC server; the
neutron-dhcp-agent only with [lab] dhcp_agent = true: VMs read their address from the
config drive) on this box, on 127.0.0.1 only, under the SAME supervisord as the box
(host services, the two nova-computes and the ONE OVS agent), plus demo content."""


def cmd_up(args):
    from hybridhost.lab import lifecycle

    conf = common.load_conf(args)
    out = progress_lines.printer()
    progress = lifecycle.up(conf, out, wait=args.wait)
    out("lab up in %.1fs" % progress.elapsed)
    return common.EXIT_OK


def _status_json(programs, health, ledger):
    from hybridhost.lab import demo
    from hybridhost.ledger import report

    return json.dumps({
        "supervisord": "RUNNING" if programs is not None else "unreachable",
        "programs": [{"name": p.full_name, "state": p.state, "pid": p.pid}
                     for p in programs or []],
        "health": health if isinstance(health, str) or health is None else {
            "computes": health.computes, "hypervisors": health.hypervisors,
            "agents": health.agents},
        "ledger": report.as_dict(ledger, demo.room_flavors()),
    }, indent=2)


def _print_ledger(ledger):
    from hybridhost.lab import demo
    from hybridhost.ledger import report

    print()
    print("\n".join(report.lines(ledger, demo.room_flavors())))


def _print_status(programs, health, problems, ledger):
    width = max([len(p.full_name) for p in programs] + [7])
    print("%-*s  %-9s %s" % (width, "PROGRAM", "STATE", "DESCRIPTION"))
    for p in programs:
        print("%-*s  %-9s %s" % (width, p.full_name, p.state, p.description))
    if isinstance(health, str):
        print("\n%s" % health)
        _print_ledger(ledger)
        return
    print()
    for host, state, status in health.computes:
        print("nova-compute %-30s %s/%s" % (host, state, status))
    for name, state in health.hypervisors:
        print("hypervisor   %-30s %s" % (name, state))
    for kind, host, alive in health.agents:
        print("agent        %-30s %s (%s)" % (host, "alive" if alive else "DEAD", kind))
    for problem in problems:
        print("problem: %s" % problem)
    _print_ledger(ledger)


def cmd_status(args):
    from hybridhost import plan as box_plan
    from hybridhost.lab import lifecycle

    conf = common.load_conf(args)
    programs, health, ledger = lifecycle.status(conf)
    if args.json:
        print(_status_json(programs, health, ledger))
    if programs is None:
        if not args.json:
            print("the lab is down (supervisord is not running); 'hybridhost lab up' "
                  "starts it.", file=sys.stderr)
        return common.EXIT_NOT_RUNNING
    problems = (["APIs not answering"] if isinstance(health, str)
                else health.problems(box_plan.build(conf), conf.lab.dhcp_agent,
                                     conf.lab.l3_agent))
    if not args.json:
        _print_status(programs, health, problems, ledger)
    running = all(p.running for p in programs)
    return common.EXIT_OK if running and not problems else common.EXIT_NOT_RUNNING


def cmd_down(args):
    from hybridhost.lab import lifecycle

    conf = common.load_conf(args)
    stopped = lifecycle.down(conf)
    if stopped is None:
        print("supervisord is not running; nothing to stop.")
    else:
        containers, leftovers = stopped
        print("lab and box stopped (%d container(s) powered off%s); state kept "
              "('hybridhost lab up' starts them again)." % (
                  containers, ", %d leftover process(es) killed" % len(leftovers)
                  if leftovers else ""))
    return common.EXIT_OK


def cmd_purge(args):
    from hybridhost.lab import lifecycle

    conf = common.load_conf(args)
    if not args.yes:
        print("hybridhost lab purge deletes the lab's databases, images and passwords; "
              "add --yes to confirm.", file=sys.stderr)
        return common.EXIT_USAGE
    stopped, removed = lifecycle.purge(conf)
    if stopped is not None:
        print("stopped the lab and the box first.")
    for path in removed:
        print("removed %s" % path)
    print("lab purged%s." % ("" if removed else " (nothing was there)"))
    return common.EXIT_OK


def register(subparsers):
    lab = subparsers.add_parser(
        "lab", help="The embedded control plane: lab up|status|down|purge.",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND")
    lab.set_defaults(func=common.show_help(lab))

    up = sub.add_parser("up", help="Start the control plane and the box, bootstrap, add "
                        "demo content; idempotent.", description="Generate the lab's passwords "
                        "once, render its configuration with the box's, start (or update) "
                        "supervisord, bootstrap databases, keystone, the catalog and cells, "
                        "wait until both nova-computes and the OVS agent (and the DHCP "
                        "agent, when [lab] dhcp_agent is on) are up, then create the demo "
                        "network, flavors and images. Each step is printed with the "
                        "elapsed time; a second run changes nothing.")
    up.add_argument("--wait", type=float, default=300, metavar="SECONDS",
                    help="How long to wait for every program to be RUNNING (default 300).")
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help="Programs, computes, hypervisors, agents, and "
                            "each side's capacity, use and what is left; exit 3 unless "
                            "all is well.")
    status.add_argument("--json", action="store_true", help="Machine-readable output.")
    status.set_defaults(func=cmd_status)

    down = sub.add_parser("down", help="Stop the lab and the box; keep all state.")
    down.set_defaults(func=cmd_down)

    purge = sub.add_parser("purge", help="Stop everything and delete the lab's state.",
                           description="Stop the lab and the box if running, then delete "
                           "[lab] state_dir (databases, queues, images, passwords, openrc) "
                           "and the lab's rendered files. The build cache is kept.")
    purge.add_argument("--yes", action="store_true", help="Confirm.")
    purge.set_defaults(func=cmd_purge)
