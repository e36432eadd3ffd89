"""``hybridhost vifs [--json] [--repair]``: every port on the integration bridge."""

import argparse
import json
import os

from hybridhost.cmd import common

COLUMNS = ("PORT", "OWNER", "INSTANCE", "TAG", "OFPORT", "LINK", "NETNS", "PROBLEM")
DONE = {"replug": "re-plugged", "remove": "removed"}

DESCRIPTION = """\
List every port on the integration bridge ([ovs] integration_bridge) with its owner,
instance, VLAN tag, OpenFlow port, link state and, for a running container's VIF,
whether the container's network namespace still holds its end (NETNS). Exit 1 when
any port has a problem, 0 otherwise. Needs root: it reads OVSDB, asks Docker and
looks into the containers' namespaces (through privsep-helper).

Owners: docker (external_ids:hybridhost-owner is the Docker side's host), libvirt
(tap* with an iface-id and a vm-uuid), agent (the bridge's own port, patch ports,
int-br-*, neutron agents' tap* without a vm-uuid), unknown (anything else).

Problems: dead-vlan (tag 4095), no-ofport (ovs-vswitchd could not open it), unwired
(a running container's VIF or a VM's tap without a VLAN tag: the OVS agent has not
wired it yet, or dropped it; the box's agent wires a dropped port again within 20 s),
orphan (ours, but its container is gone or stopped), vif-missing / vif-broken (a
running container's saved VIF has no port, a wrong one, or the container lost its
end), unexpected (ours, not among its instance's saved VIFs), bad-name (ours, not
named [ovs] vif_prefix*), stray (named like ours, owned by another host), name-taken
(a port of another owner holds the name of one of our VIFs).

--repair fixes what belongs to the Docker side only: it re-plugs a running
container's missing or broken VIF from the spec the Docker driver saved, and removes
orphan ports of ours (with their veth). It never touches libvirt's, the agents' or
unknown ports, however broken they look: it reports them. It prints what it fixed,
then the bridge again, and exits 1 when problems are left."""


def _cell(value):
    return "-" if value in (None, "") else str(value)


def _problem(problem):
    text = "%s: %s" % (problem.code, problem.detail)
    return text + " (--repair: %s)" % problem.repair if problem.repair else text


def _row(entry):
    problems = "; ".join(map(_problem, entry.problems))
    return (entry.port or "-", entry.owner, _cell(entry.instance), _cell(entry.tag),
            _cell(entry.ofport), _cell(entry.link), _cell(entry.netns), problems or "-")


def format_table(report):
    rows = [COLUMNS] + [_row(entry) for entry in report.entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  " + row[-1] for row in rows]


def summary(report, repaired=False):
    counts = report.owner_counts()
    problems = report.problems
    line = "%s: %d ports (%s); " % (report.bridge, sum(counts.values()), ", ".join(
        "%s %d" % item for item in counts.items()))
    if not problems:
        return line + "no problems."
    repairable = sum(1 for _entry, problem in problems if problem.repair)
    line += "%d problem(s)%s" % (len(problems), " left" if repaired else "")
    if repairable and not repaired:
        line += ", %d repairable with 'hybridhost vifs --repair'" % repairable
    return line + "."


def format_outcome(outcome):
    action = outcome.action
    if outcome.ok:
        return "%s %s (instance %s)" % (DONE[action.kind], action.port, _cell(action.instance))
    return "FAILED to %s %s: %s" % (action.kind, action.port, outcome.error)


def report_json(report, outcomes=None):
    data = {"bridge": report.bridge, "owner": report.owner, "ports": [{
        "port": e.port, "owner": e.owner, "instance": e.instance or None, "tag": e.tag,
        "ofport": e.ofport, "link": e.link, "netns": e.netns or None, "on_bridge": e.on_bridge,
        "problems": [{"code": p.code, "detail": p.detail, "repair": p.repair}
                     for p in e.problems]} for e in report.entries],
        "counts": report.owner_counts(), "problems": len(report.problems),
        "notes": list(report.notes)}
    if outcomes is not None:
        data["repairs"] = [{"action": o.action.kind, "port": o.action.port,
                            "instance": o.action.instance or None, "ok": o.ok,
                            "error": o.error} for o in outcomes]
    return json.dumps(data, indent=2)


def settings_from(conf):
    from hybridhost import plan as box_plan
    from hybridhost.bridge_ports import sources

    plan = box_plan.build(conf)
    return sources.Settings(
        bridge=conf.ovs.integration_bridge, owner=plan.docker.host, prefix=conf.ovs.vif_prefix,
        ovsdb_connection=conf.ovs.ovsdb_connection, docker_url=conf.docker.url,
        docker_api_version=conf.docker.min_api_version,
        instances_path=plan.docker.instances_path), plan


def use_privsep_helper(bin_dir, config_file=None):
    """Privileged checks and plugs through the venv's privsep-helper, as the Docker
    nova-compute's (no sudo), reading ``config_file`` (nova-docker.conf) when it exists:
    the helper touches only links with the ``vif_prefix`` it finds there."""
    from oslo_config import cfg

    import hybridhost.privileged

    # The helper's eventlet import warns on stderr, which privsep relays as WARNING
    # lines into this command's output.
    helper = "env PYTHONWARNINGS=ignore::Warning:oslo_privsep.daemon %s" % os.path.join(
        bin_dir, "privsep-helper")
    if config_file and os.path.exists(config_file):
        helper += " --config-file %s" % config_file
    cfg.CONF.set_override("helper_command", helper,
                          group=hybridhost.privileged.net_admin.cfg_section)


def _print_text(report, outcomes, before):
    if outcomes is not None:
        print("before: %d problem(s) on %s" % (len(before.problems), before.bridge))
        for outcome in outcomes:
            print(format_outcome(outcome))
        print()
    for line in format_table(report):
        print(line)
    print(summary(report, repaired=outcomes is not None))
    for note in report.notes:
        print("note: %s" % note)


def cmd_vifs(args):
    from hybridhost.bridge_ports import audit
    from hybridhost.bridge_ports import repair
    from hybridhost.bridge_ports import sources

    conf = common.load_conf(args)
    settings, plan = settings_from(conf)
    use_privsep_helper(plan.bin_dir, plan.docker.config_file)
    box = sources.LiveBox.connect(settings)
    before = audit.audit(box.snapshot())
    report, outcomes = before, None
    if args.repair:
        outcomes, report = repair.run(box, before)
    if args.json:
        print(report_json(report, outcomes))
    else:
        _print_text(report, outcomes, before)
    return common.EXIT_FAILED if report.problems else common.EXIT_OK


def register(subparsers):
    vifs = subparsers.add_parser(
        "vifs", help="Every port on the integration bridge, its owner and problems.",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    vifs.add_argument("--json", action="store_true", help="Machine-readable output.")
    vifs.add_argument("--repair", action="store_true",
                      help="Fix the Docker side's problems (re-plug, remove our orphans), "
                           "then show what is left.")
    vifs.set_defaults(func=cmd_vifs)
