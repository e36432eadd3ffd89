"""The ``hybridhost`` command line."""

import argparse
import logging
import sys
import warnings

from hybridhost import exception
from hybridhost.cmd import box
from hybridhost.cmd import common
from hybridhost.cmd import doctor
from hybridhost.cmd import lab
from hybridhost.cmd import shell
from hybridhost.cmd import targeting
from hybridhost.cmd import vifs
from hybridhost.cmd import wait_for

LOG = logging.getLogger(__name__)

# In the order of the help's command list. Each module imports what its commands
# drive inside those commands: the whole parser is built for every 'wait-for' that
# supervisord runs, and importing the box, the lab and openstacksdk here would add
# about half a second to each program's start.
COMMAND_MODULES = (box, doctor, vifs, shell, wait_for, lab, targeting)

DESCRIPTION = """\
hybridhost turns one machine into a mixed OpenStack compute host: a Docker
(container) nova-compute and a libvirt (VM) nova-compute side by side under
supervisord, sharing ONE neutron Open vSwitch agent.

Everything is rendered from one file, hybridhost.conf (default
/etc/hybridhost/hybridhost.conf; see README.rst for every option)."""


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
    subparsers = parser.add_subparsers(dest="command_name", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv=None):
    warnings.filterwarnings("ignore", module="ovs")
    # (?s): eventlet's deprecation message starts with a newline.
    warnings.filterwarnings("ignore", message="(?s).*[Ee]ventlet.*")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not getattr(args, "func", None):
        parser.print_help()
        return common.EXIT_USAGE
    try:
        return args.func(args)
    except exception.HybridhostError as err:
        print("hybridhost %s: error: %s" % (args.command_name, err), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
