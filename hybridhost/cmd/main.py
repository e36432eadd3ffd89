"""The ``hybridhost`` command line."""

import argparse
import importlib
import json
import logging
import os
import sys
import time
import warnings

from hybridhost import exception

LOG = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3
# Sub-command groups living in their own modules; each has register(subparsers).
COMMAND_MODULES = ("hybridhost.cmd.lab", "hybridhost.cmd.targeting")

DESCRIPTION = """\
hybridhost turns one machine into a mixed OpenStack compute host: a Docker
(container) nova-compute and a libvirt (VM) nova-compute side by side under
supervisord, sharing ONE neutron Open vSwitch agent.

Everything is rendered from one file, hybridhost.conf (default
/etc/hybridhost/hybridhost.conf; see README.rst for every option)."""


def _conf(args):
    from hybridhost import conf as hh_conf

    argv = []
    for path in args.config_file or []:
        argv += ["--config-file", path]
    if args.config_dir:
        argv += ["--config-dir", args.config_dir]
    return hh_conf.load(argv)


def cmd_render(args):
    from hybridhost import render
    from hybridhost.render import files as rendered_files

    conf = _conf(args)
    plan, files = render.render(conf)
    out_dir = args.output or plan.config_dir
    diffs = rendered_files.differences(files, out_dir)
    if args.check:
        if diffs:
            sys.stdout.write(rendered_files.unified_diff(diffs))
            print("%d file(s) in %s differ from hybridhost.conf; run 'hybridhost render'."
                  % (len(diffs), out_dir), file=sys.stderr)
            return EXIT_FAILED
        print("%d rendered file(s) in %s are up to date." % (len(files), out_dir))
        return EXIT_OK
    changed = rendered_files.write(files, out_dir)
    for rel in changed:
        print("wrote %s" % os.path.join(out_dir, rel))
    print("%d file(s) rendered for box %s in %s, %d changed." % (
        len(files), plan.box, out_dir, len(changed)))
    if out_dir != plan.config_dir:
        print("note: the files refer to each other under [paths] config_dir = %s"
              % plan.config_dir)
    return EXIT_OK


def _progress(elapsed, program):
    print("[%6.1fs] %-45s %s" % (elapsed, program.full_name, program.state), flush=True)


def cmd_up(args):
    from hybridhost import box

    conf = _conf(args)
    started = time.monotonic()
    plan, changed = box.render_to_disk(conf)
    print("[%6.1fs] rendered %s (%d file(s) changed)" % (
        time.monotonic() - started, plan.config_dir, len(changed)), flush=True)
    box.prepare(conf, plan)
    if box.is_up(conf):
        client = box.client_for(conf)
        added, changed_groups, removed = client.reload_config()
        print("[%6.1fs] supervisord already running; groups added %s, changed %s, removed %s"
              % (time.monotonic() - started, added or "-", changed_groups or "-",
                 removed or "-"), flush=True)
        for program in box.restart_if_code_changed(conf, plan, set(added) | set(changed_groups)):
            print("[%6.1fs] restarted %s (hybridhost's code changed)" % (
                time.monotonic() - started, program), flush=True)
        client.start_all()
    else:
        if args.foreground:
            print("supervisord runs in the foreground; Ctrl-C stops the box.", flush=True)
        box.restart_if_code_changed(conf, plan)  # records the code that starts now
        box.start_supervisord(conf, plan, foreground=args.foreground)
        print("[%6.1fs] supervisord started (control socket %s)" % (
            time.monotonic() - started, box.client_for(conf).url), flush=True)
    if args.no_wait:
        return EXIT_OK
    programs = box.wait_settled(box.client_for(conf), args.wait, _progress, started)
    bad = [p for p in programs if not p.running]
    if bad:
        for program in bad:
            print("%s is %s: see %s" % (program.full_name, program.state, os.path.join(
                conf.paths.log_root, "%s.stdout.log" % program.name)), file=sys.stderr)
        return EXIT_FAILED
    print("[%6.1fs] box %s is up: %d program(s) RUNNING" % (
        time.monotonic() - started, plan.box, len(programs)))
    return EXIT_OK


def cmd_down(args):
    from hybridhost import box
    from hybridhost import plan as box_plan

    conf = _conf(args)
    result = box.down(conf, box_plan.build(conf), stop_timeout=conf.supervisor.stop_timeout + 30)
    if result is None:
        print("supervisord is not running; nothing to stop.")
        return EXIT_OK
    containers, leftovers = result
    print("box stopped: %d container(s) stopped%s." % (
        containers, ", %d leftover process(es) killed" % len(leftovers) if leftovers else ""))
    return EXIT_OK


def cmd_status(args):
    from hybridhost import box

    conf = _conf(args)
    try:
        programs = box.client_for(conf).programs()
    except exception.SupervisorUnreachable as err:
        if args.json:
            print(json.dumps({"supervisord": "unreachable", "error": str(err),
                              "programs": []}, indent=2))
        else:
            print(err, file=sys.stderr)
        return EXIT_NOT_RUNNING
    if args.json:
        print(json.dumps({"supervisord": "RUNNING", "programs": [
            {"name": p.full_name, "group": p.group, "program": p.name, "state": p.state,
             "pid": p.pid, "description": p.description} for p in programs]}, indent=2))
    else:
        width = max([len(p.full_name) for p in programs] + [7])
        print("%-*s  %-9s %s" % (width, "PROGRAM", "STATE", "DESCRIPTION"))
        for p in programs:
            print("%-*s  %-9s %s" % (width, p.full_name, p.state, p.description))
    # supervisorctl's LSB convention: 3 when any program is not running.
    return EXIT_OK if programs and all(p.running for p in programs) else EXIT_NOT_RUNNING


def cmd_doctor(args):
    from hybridhost import doctor

    conf = _conf(args)
    results = doctor.run(conf)
    for result in results:
        print("%-4s  %-18s %s" % (result.status, result.name, result.detail))
        if result.fix and result.status != "ok":
            print("      %-18s fix: %s" % ("", result.fix))
    failed = [r for r in results if r.failed]
    print("\n%d check(s), %d failed." % (len(results), len(failed)))
    return EXIT_FAILED if failed else EXIT_OK


def cmd_wait_for(args):
    from hybridhost import readiness

    if not args.command:
        raise exception.ConfigInvalid(option="wait-for", reason="no command after '--'.")
    needs = []
    for connection in args.ovsdb or []:
        needs.append(("OVSDB %s" % connection, lambda c=connection: readiness.ovsdb(c)))
    for bridge in args.bridge or []:
        if not args.ovsdb:
            raise exception.ConfigInvalid(option="--bridge", reason="needs --ovsdb.")
        needs.append(("bridge %s" % bridge,
                      lambda b=bridge: readiness.bridge(args.ovsdb[0], b)))
    for url in args.docker or []:
        needs.append(("Docker %s" % url, lambda u=url: readiness.docker_engine(u)))
    for path in args.unix_socket or []:
        needs.append(("socket %s" % path, lambda p=path: readiness.unix_socket(p)))
    deadline = time.monotonic() + args.timeout
    for name, probe in needs:
        try:
            readiness.wait(probe, max(deadline - time.monotonic(), 0), name)
        except exception.DependencyNotReady as err:
            print("hybridhost wait-for: %s not ready after %ss: %s" % (
                name, args.timeout, err.kwargs["reason"]), file=sys.stderr, flush=True)
            return EXIT_FAILED
    os.execvp(args.command[0], args.command)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="hybridhost", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", action="append", metavar="PATH",
                        help="hybridhost.conf to read (repeatable; default "
                             "/etc/hybridhost/hybridhost.conf when it exists).")
    parser.add_argument("--config-dir", metavar="DIR",
                        help="Also read every *.conf in DIR.")
    parser.add_argument("--debug", action="store_true", help="Log debug messages to stderr.")
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND")

    render = sub.add_parser("render", help="Render nova, neutron and supervisord files.",
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

    up = sub.add_parser("up", help="Render, then start (or update) supervisord and wait.",
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

    down = sub.add_parser("down", help="Stop every program and supervisord.",
                          description="Stop every program, shut supervisord down and kill "
                          "any process it leaves behind. State is kept.")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="Every program's state; exit 3 if any is not "
                            "RUNNING.", description="Show every program's supervisord "
                            "state (same as 'supervisorctl -c <config_dir>/conf/"
                            "supervisord.conf status'). Exit 0 when all are RUNNING, "
                            "3 otherwise or when supervisord is not running.")
    status.add_argument("--json", action="store_true", help="Machine-readable output.")
    status.set_defaults(func=cmd_status)

    doctor = sub.add_parser("doctor", help="Preflight checks; each failure names its fix.",
                            description="Check sockets, the Docker API version, OVS bridge "
                            "datapath types, libvirt and virt_type, identities, binaries "
                            "and disk space. Exit 1 when any check fails.")
    doctor.set_defaults(func=cmd_doctor)

    wait_for = sub.add_parser("wait-for", help="Wait for dependencies, then exec a command "
                              "(used in supervisord.d/).",
                              description="Start-order for supervisord: wait until every "
                              "named dependency answers, then exec COMMAND. Exit 1 after "
                              "--timeout so supervisord retries.")
    wait_for.add_argument("--timeout", type=float, default=60)
    wait_for.add_argument("--ovsdb", action="append", metavar="CONNECTION")
    wait_for.add_argument("--bridge", action="append", metavar="NAME",
                          help="An OVS bridge that must exist (in the first --ovsdb).")
    wait_for.add_argument("--docker", action="append", metavar="URL")
    wait_for.add_argument("--unix-socket", action="append", metavar="PATH")
    wait_for.add_argument("command", nargs=argparse.REMAINDER)
    wait_for.set_defaults(func=cmd_wait_for)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv=None):
    warnings.filterwarnings("ignore", module="ovs")
    warnings.filterwarnings("ignore", message=".*[Ee]ventlet.*")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    if getattr(args, "command", None) and args.command[:1] == ["--"]:
        args.command = args.command[1:]
    try:
        return args.func(args)
    except exception.HybridhostError as err:
        print("hybridhost %s: error: %s" % (args.command_name, err), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
