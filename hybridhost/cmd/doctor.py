"""``hybridhost doctor``: preflight checks, each failure with its fix."""

from hybridhost.cmd import common


def cmd_doctor(args):
    from hybridhost import doctor

    conf = common.load_conf(args)
    results = doctor.run(conf)
    for result in results:
        print("%-4s  %-18s %s" % (result.status, result.name, result.detail))
        if result.fix and result.status != "ok":
            print("      %-18s fix: %s" % ("", result.fix))
    failed = [r for r in results if r.failed]
    print("\n%d check(s), %d failed." % (len(results), len(failed)))
    return common.EXIT_FAILED if failed else common.EXIT_OK


def register(subparsers):
    doctor = subparsers.add_parser(
        "doctor", help="Preflight checks; each failure names its fix.",
        description="Check sockets, the Docker API version, OVS bridge "
        "datapath types, libvirt and virt_type, identities, binaries, "
        "disk space, and that no other process holds the box's TCP ports. "
        "Exit 1 when any check fails.")
    doctor.set_defaults(func=cmd_doctor)
