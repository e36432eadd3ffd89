"""``hybridhost render|up|down|status``: the box's files and its supervisord."""

import json
import os
import sys

from hybridhost import exception
from hybridhost.cmd import common


def cmd_render(args):
    from hybridhost import render
    from hybridhost.render import files as rendered_files
    from hybridhost.render import systemd

    conf = common.load_conf(args)
    plan, files = render.render(conf)
    out_dir = args.output or plan.config_dir
    diffs = rendered_files.differences(files, out_dir)
    if args.check:
        if diffs:
            sys.stdout.write(rendered_files.unified_diff(diffs))
            print("%d file(s) in %s differ from hybridhost.conf; run 'hybridhost render'."
                  % (len(diffs), out_dir), file=sys.stderr)
            return common.EXIT_FAILED
        print("%d rendered file(s) in %s are up to date." % (len(files), out_dir))
        return common.EXIT_OK
    changed = rendered_files.write(files, out_dir)
    for rel in changed:
        print("wrote %s" % os.path.join(out_dir, rel))
    unit = systemd.install(conf, plan, out_dir)
    if unit:
        print("wrote %s" % unit)
    print("%d file(s) rendered for box %s in %s, %d changed." % (
        len(files), plan.box, out_dir, len(changed)))
    if out_dir != plan.config_dir:
        print("note: the files refer to each other under [paths] config_dir = %s"
              % plan.config_dir)
    return common.EXIT_OK


def cmd_up(args):
    from hybridhost import box

    conf = common.load_conf(args)
    progress = common.progress()
    plan = box.up(conf, progress, foreground=args.foreground).plan
    if args.no_wait:
        return common.EXIT_OK
    programs = box.follow(conf, args.wait, progress)
    bad = [p for p in programs if not p.running]
    if bad:
        for program in bad:
            print("%s is %s: see %s" % (program.full_name, program.state, os.path.join(
                conf.paths.log_root, "%s.stdout.log" % program.name)), file=sys.stderr)
        return common.EXIT_FAILED
    progress("box %s is up: %d program(s) RUNNING" % (plan.box, len(programs)))
    return common.EXIT_OK


def cmd_down(args):
    from hybridhost import box
    from hybridhost import plan as box_plan

    conf = common.load_conf(args)
    result = box.down(conf, box_plan.build(conf), stop_timeout=conf.supervisor.stop_timeout + 30)
    if result is None:
        print("supervisord is not running; nothing to stop.")
        return common.EXIT_OK
    containers, leftovers = result
    print("box stopped: %d container(s) stopped%s." % (
        containers, ", %d leftover process(es) killed" % len(leftovers) if leftovers else ""))
    return common.EXIT_OK


def placement_connection(conf):
    """The connection the ledger reads placement through: the lab's admin with [lab]
    enabled, else ``[openstack]``'s service user (nova-compute's)."""
    from hybridhost.ledger import placement

    if not conf.lab.enabled:
        return placement.service_connection(conf)
    from hybridhost import lab_state
    from hybridhost.lab import bootstrap

    if not lab_state.exists(conf):
        raise exception.PlacementUnavailable(
            reason="[lab] is enabled and there is no lab yet ('hybridhost lab up')")
    return bootstrap.admin_connection(conf, lab_state.load_secrets(conf))


def _room_flavors(conf):
    """The flavors whose room the ledger counts: the lab's demo flavors, when it runs."""
    if not conf.lab.enabled:
        return ()
    from hybridhost.lab import demo

    return demo.room_flavors()


def _ledger(conf):
    """``(lines, data)``: the capacity ledger as text and for --json (a configuration
    the plan refuses has none; the programs' status is still shown)."""
    from hybridhost import plan as box_plan
    from hybridhost.ledger import placement
    from hybridhost.ledger import report

    try:
        plan = box_plan.build(conf)
    except exception.ConfigInvalid as err:
        return ["no capacity ledger: %s" % err], {"error": str(err)}
    ledger = placement.observe(plan, lambda: placement_connection(conf))
    flavors = _room_flavors(conf)
    return report.lines(ledger, flavors), report.as_dict(ledger, flavors)


def ledger_data(conf):
    """The capacity ledger as 'status --json' has it (the watcher's child reads it)."""
    return _ledger(conf)[1]


def _programs_json(programs):
    return [{"name": p.full_name, "group": p.group, "program": p.name, "state": p.state,
             "pid": p.pid, "description": p.description} for p in programs]


#: ``hybridhost status``'s exit code per health of the box.
STATUS_EXIT = {"healthy": common.EXIT_OK, "degraded": 1, "down": 2}


def _health(conf):
    """``(programs, error, rows)``: supervisord's programs now, with the watcher's last
    report (render/watcher.py says where) merged in."""
    from hybridhost import box
    from hybridhost.render import supervisor as supervisor_render
    from hybridhost.render import watcher as watcher_render
    from hybridhost.watcher import report
    from hybridhost.watcher import state

    try:
        programs, error = box.client_for(conf).programs(), None
    except (exception.SupervisorUnreachable, exception.SupervisorFault) as err:
        programs, error = [], err
    name = ("%s:%s" % (supervisor_render.WATCHER, supervisor_render.WATCHER)
            if conf.watcher.enabled else None)
    rows = report.parts(programs, error, state.read(watcher_render.state_file(conf)), name)
    return programs, error, rows


def _status_once(conf, as_json):
    from hybridhost.watcher import report
    from hybridhost.watcher import state

    programs, error, rows = _health(conf)
    health = state.overall(rows)
    lines, data = _ledger(conf)
    if as_json:
        print(json.dumps({"health": health,
                          "supervisord": "unreachable" if error else "RUNNING",
                          **({"error": str(error)} if error else {}),
                          "parts": report.as_dicts(rows),
                          "programs": _programs_json(programs), "ledger": data}, indent=2))
    else:
        if error:
            print(error, file=sys.stderr)
        print("\n".join(report.table(rows)))
        print("box: %s" % health)
        print()
        print("\n".join(lines))
    return STATUS_EXIT[health]


def cmd_status(args):
    conf = common.load_conf(args)
    if not args.watch:
        return _status_once(conf, args.json)
    import time

    try:
        while True:
            # Home and clear: the table is redrawn in place.
            sys.stdout.write("\033[H\033[J")
            code = _status_once(conf, args.json)
            sys.stdout.flush()
            time.sleep(args.watch)
    except KeyboardInterrupt:
        return code


def register(subparsers):
    _register_render(subparsers)
    _register_up(subparsers)
    _register_down(subparsers)
    _register_status(subparsers)


def _register_render(subparsers):
    render = subparsers.add_parser(
        "render", help="Render nova, neutron and supervisord files.",
        description="Write nova-docker.conf, nova-kvm.conf, the OVS "
        "agent's configuration, supervisord.conf and supervisord.d/ "
        "from hybridhost.conf. Refuses, writing nothing, a result "
        "that breaks the box's rules (distinct hosts, nodenames and "
        "paths; one agent; capacity). Deterministic.")
    render.add_argument("--output", metavar="DIR",
                        help="Write here instead of [paths] config_dir.")
    render.add_argument("--check", action="store_true",
                        help="Write nothing; exit 1 and print a diff if the files on "
                             "disk differ from what would be rendered.")
    render.set_defaults(func=cmd_render)


def _register_up(subparsers):
    up = subparsers.add_parser(
        "up", help="Render, then start (or update) supervisord and wait.",
        description="Render the files, prepare directories and the OVS "
        "database, start supervisord (or apply changes to a running one) "
        "and show each program's progress until all are RUNNING. "
        "Idempotent: running it again changes nothing.")
    up.add_argument("--foreground", action="store_true",
                    help="Run supervisord in the foreground (for containers/init systems).")
    up.add_argument("--wait", type=float, default=180, metavar="SECONDS",
                    help="How long to wait for every program to settle (default 180).")
    up.add_argument("--no-wait", action="store_true", help="Return once supervisord runs.")
    up.set_defaults(func=cmd_up)


def _register_down(subparsers):
    down = subparsers.add_parser(
        "down", help="Stop every program and supervisord.",
        description="Stop every program, shut supervisord down and kill "
        "any process it leaves behind. State is kept.")
    down.set_defaults(func=cmd_down)


def _register_status(subparsers):
    status = subparsers.add_parser(
        "status", help="One status of the box: every part's state and health, then "
        "each side's capacity; exit 0 healthy, 1 degraded, 2 down.",
        description="One table: supervisord, every program (its "
        "supervisord state, with the health watcher's last verdict: "
        "process, hang, RPC ping), the daemons the watcher probes "
        "(Docker, libvirt, OVSDB, ovs-vswitchd) and the watcher itself; "
        "then the capacity ledger: per side and resource class, "
        "placement's capacity, use and what is left, beside what the "
        "plan offers (offer x ratio); where placement cannot be read, "
        "the plan's figures and why. Exit 0 when every part is healthy, "
        "1 when one is degraded (starting, not answering yet, no fresh "
        "report from the watcher), 2 when one is down or failed, or "
        "supervisord does not answer.")
    status.add_argument("--json", action="store_true", help="Machine-readable output.")
    status.add_argument("--watch", type=float, nargs="?", const=2.0, default=None,
                        metavar="SECONDS", help="Redraw every SECONDS (default 2) until "
                        "Ctrl-C; the exit code is the last one.")
    status.set_defaults(func=cmd_status)
