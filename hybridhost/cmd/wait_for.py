"""``hybridhost wait-for``: supervisord's start order, wait for dependencies then exec.

supervisord runs this in front of every program it starts, so its start-up time
is paid by each of them: this module, like every command module the parser loads,
imports at the top only the standard library and light hybridhost modules.
"""

import argparse
import os
import sys
import time

from hybridhost import exception
from hybridhost.cmd import common


def _needs(args, readiness):
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
    return needs


def cmd_wait_for(args):
    # Here, not at the top: readiness imports docker and python-ovs (~0.5 s).
    from hybridhost import readiness

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise exception.ConfigInvalid(option="wait-for", reason="no command after '--'.")
    needs = _needs(args, readiness)
    deadline = time.monotonic() + args.timeout
    for name, probe in needs:
        try:
            readiness.wait(probe, max(deadline - time.monotonic(), 0), name)
        except exception.DependencyNotReady as err:
            print("hybridhost wait-for: %s not ready after %ss: %s" % (
                name, args.timeout, err.kwargs["reason"]), file=sys.stderr, flush=True)
            return common.EXIT_FAILED
    os.execvp(command[0], command)


def register(subparsers):
    wait_for = subparsers.add_parser(
        "wait-for", help="Wait for dependencies, then exec a command (used in supervisord.d/).",
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
