"""``hybridhost shell SERVER [-- COMMAND...]``: a shell in a container, for the box's admin."""

import argparse
import functools
import os
import sys

from hybridhost import exception
from hybridhost.cmd import common

DEFAULT_COMMAND = ["/bin/sh"]

DESCRIPTION = """\
Run COMMAND (default: /bin/sh) inside the container of server SERVER, over the Docker
API, with a terminal when stdin and stdout are one (containers have no VNC console).
SERVER is the server's UUID, its name, its hostname or its instance name
(instance-0000000a), looked up in the labels of the Docker side's containers: nova's
API is not asked, so it works while the control plane is down. The command runs as the
container's user, with the container's capabilities and no-new-privileges, and
its exit code is this command's. Needs root (the Docker socket is root on the box)."""


def _matches(info, server):
    from hybridhost.virt.docker import engine as engine_mod

    names = (info.labels.get(engine_mod.LABEL_DISPLAY_NAME), info.hostname,
             info.labels.get(engine_mod.LABEL_NAME))
    return server in names


def find_server(infos, server, host):
    """The one container of ``infos`` that ``server`` names: its UUID first, else its
    display name, hostname or instance name."""
    by_uuid = [info for info in infos if info.uuid == server]
    found = by_uuid or [info for info in infos if _matches(info, server)]
    if not found:
        raise exception.ServerNotFound(server=server, host=host)
    if len(found) > 1:
        raise exception.ServerAmbiguous(server=server,
                                        uuids=", ".join(sorted(i.uuid for i in found)))
    return found[0]


def _engine(args):
    from hybridhost import plan as box_plan
    from hybridhost.virt.docker import engine as engine_mod

    conf = common.load_conf(args)
    host = box_plan.build(conf).docker.host
    return engine_mod.Engine.connect(conf.docker.url, conf.docker.min_api_version, host)


def run(engine, info, command, tty):
    """Run ``command`` in ``info``'s container, relayed to this process; its exit code."""
    from hybridhost.virt.docker import relay

    session = engine.exec_attached(info.id, command, tty)
    try:
        if tty:
            resize = functools.partial(engine.exec_resize, session.exec_id)
            with relay.raw_terminal(sys.stdin.fileno(), resize):
                relay.Relay(session.sock, True).run()
        else:
            relay.Relay(session.sock, False).run()
    finally:
        session.sock.close()
    code = engine.exec_exit_code(session.exec_id)
    return common.EXIT_FAILED if code is None else code


def cmd_shell(args):
    if os.geteuid() != 0:
        raise exception.NeedsRoot(command="shell", reason="the Docker socket is root on the box")
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    engine = _engine(args)
    info = find_server(engine.list_own(), args.server, engine.host)
    if info.status != "running":
        raise exception.ContainerNotRunning(server=args.server, status=info.status)
    tty = not args.no_tty and sys.stdin.isatty() and sys.stdout.isatty()
    sys.stdout.flush()
    return run(engine, info, command or DEFAULT_COMMAND, tty)


def register(subparsers):
    shell = subparsers.add_parser(
        "shell", help="A shell (or a command) inside a container, over the Docker API.",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    shell.add_argument("--no-tty", action="store_true",
                       help="No terminal even when stdin and stdout are one.")
    shell.add_argument("server", metavar="SERVER", help="Server UUID, name or hostname.")
    shell.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                       help="What to run instead of /bin/sh.")
    shell.set_defaults(func=cmd_shell)
