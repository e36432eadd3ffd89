"""``hybridhost targeting apply|lint``: users pick container or VM by flavor, on any cloud."""

import argparse

from hybridhost import exception
from hybridhost.cmd import common

EXIT_FINDINGS = common.EXIT_FAILED

DESCRIPTION = """\
Make the flavor decide the side of the box: container flavors land only on the
Docker nova-compute, VM flavors only on the libvirt one. Works on any cloud reached
with openstacksdk (--os-cloud NAME from clouds.yaml, or OS_CLOUD / OS_* variables);
needs admin rights (aggregates, flavor extra specs, placement traits).

Which flavors are which: --container-flavor / --vm-flavor, then the side a flavor is
already marked for, then the naming convention: a name with a word (split at . - _)
'container' or 'docker' is a container flavor, 'vm' or 'kvm' a VM flavor
(hh.container.large, vm-small). Other flavors are left alone; lint reports them."""

APPLY_DESCRIPTION = DESCRIPTION + """

apply sets up both ways of targeting, and is idempotent (a second run changes
nothing and says so):
  documented: aggregates hh-docker / hh-kvm holding the compute hosts, metadata
    hypervisor=docker / kvm, flavors with aggregate_instance_extra_specs:hypervisor
    (AggregateInstanceExtraSpecsFilter);
  current practice: traits CUSTOM_HV_DOCKER / CUSTOM_HV_KVM on each compute's
    resource provider, flavors with trait:CUSTOM_HV_<X>=required, the same trait
    required in the aggregate's metadata (isolated aggregate filtering), and
    img_hv_type=docker on container images (container_format=docker),
    img_hv_type=qemu on VM images that have no libvirt type (qemu or kvm) yet
    (what libvirt advertises with virt_type=qemu; aki/ari images are left alone).
It cannot change the scheduler's configuration: it prints the lines to set in
nova.conf of nova-scheduler yourself."""

LINT_DESCRIPTION = DESCRIPTION + """

lint reports every flavor that could land on either side or on neither (no side
trait and no aggregate extra spec; both traits; trait and aggregate spec
disagreeing; only the aggregate spec; an unscoped 'hypervisor' key), every image
that can be scheduled to the wrong side (container image without img_hv_type=docker;
VM image without img_hv_type: a container flavor then sends it to the Docker side,
whose driver refuses it at boot), and, for the box's two hosts, what apply has not
set up yet. Each finding names its fix. Exit 1 when anything is found, 0 otherwise."""


def register(subparsers):
    parser = subparsers.add_parser(
        "targeting", help="Set up and lint container-vs-VM targeting by flavor.",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=common.show_help(parser))
    actions = parser.add_subparsers(dest="targeting_action", metavar="ACTION")

    apply = actions.add_parser(
        "apply", help="Create aggregates, traits, flavor extra specs and image "
        "properties (idempotent).", description=APPLY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common_arguments(apply)
    apply.add_argument("--container-flavor", action="append", default=[], metavar="NAME",
                       help="A flavor that must land on the Docker side (repeatable).")
    apply.add_argument("--vm-flavor", action="append", default=[], metavar="NAME",
                       help="A flavor that must land on the libvirt side (repeatable).")
    apply.add_argument("--vm-hv-type", choices=("qemu", "kvm", "none"), default="qemu",
                       help="img_hv_type to set on VM images that have none (or a "
                       "non-libvirt one): qemu (default; what libvirt advertises with "
                       "virt_type=qemu, and also with kvm), kvm, or none to leave VM "
                       "images alone.")
    apply.add_argument("--dry-run", action="store_true",
                       help="Print what would change; change nothing.")
    apply.set_defaults(func=cmd_apply)

    lint = actions.add_parser(
        "lint", help="Report flavors and images that could land on either side or on "
        "neither; exit 1 if any.", description=LINT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common_arguments(lint)
    lint.add_argument("--no-hosts", action="store_true",
                      help="Lint only flavors and images, not the box's two computes.")
    lint.set_defaults(func=cmd_lint)


def _add_common_arguments(parser):
    parser.add_argument("--os-cloud", metavar="NAME",
                        help="Cloud in clouds.yaml (default: OS_CLOUD, or OS_* variables).")
    parser.add_argument("--docker-host", metavar="HOST",
                        help="nova service host of the Docker compute (default: "
                        "[host] docker_compute_host of hybridhost.conf).")
    parser.add_argument("--kvm-host", metavar="HOST",
                        help="nova service host of the libvirt compute (default: "
                        "[host] kvm_compute_host of hybridhost.conf).")


def _hosts(args):
    if args.docker_host and args.kvm_host:
        return args.docker_host, args.kvm_host
    from hybridhost import plan as hh_plan

    box = hh_plan.build(common.load_conf(args))
    return args.docker_host or box.docker.host, args.kvm_host or box.kvm.host


def _cloud(args):
    from hybridhost.targeting import cloud

    return cloud.Cloud(cloud.connect(args.os_cloud))


def cmd_apply(args):
    from hybridhost.targeting import apply
    from hybridhost.targeting import model

    docker_host, kvm_host = _hosts(args)
    if docker_host == kvm_host:
        raise exception.TargetingInvalid(what="--docker-host/--kvm-host", reason=(
            "both are %s; the two sides must be different compute hosts" % docker_host))
    request = model.Request(
        docker_host=docker_host, kvm_host=kvm_host,
        container_flavors=tuple(args.container_flavor), vm_flavors=tuple(args.vm_flavor),
        vm_hv_type=None if args.vm_hv_type == "none" else args.vm_hv_type)
    state, changes = apply.run(_cloud(args), request, print, dry_run=args.dry_run)
    if not changes:
        print("Nothing to change: docker side %s and kvm side %s are set up." % (
            docker_host, kvm_host))
    else:
        print("%d change(s)%s." % (len(changes), " would be made (dry run)"
                                   if args.dry_run else " made"))
    left = apply.unassigned(state, request)
    if left:
        print("Left alone (no side by argument, mark or name): %s; see 'hybridhost "
              "targeting lint'." % ", ".join(left))
    _print_scheduler_settings()
    return common.EXIT_OK


def cmd_lint(args):
    from hybridhost.targeting import lint
    from hybridhost.targeting import model

    hosts = None
    if not args.no_hosts:
        docker_host, kvm_host = _hosts(args)
        hosts = model.Request(docker_host=docker_host, kvm_host=kvm_host)
    cloud = _cloud(args)
    state = cloud.state(hosts=(hosts.docker_host, hosts.kvm_host) if hosts else ())
    found = lint.findings(state, hosts)
    for finding in found:
        lands = "lands on %s: " % finding.lands if finding.lands else ""
        print("%s %s: %s%s\n    fix: %s" % (
            finding.kind, finding.subject, lands, finding.problem, finding.fix))
    print("%d finding(s) in %d flavor(s) and %d image(s)%s." % (
        len(found), len(state.flavors), len(state.images),
        "" if hosts is None else ", hosts %s and %s" % (hosts.docker_host, hosts.kvm_host)))
    _print_scheduler_settings()
    return EXIT_FINDINGS if found else common.EXIT_OK


def _print_scheduler_settings():
    from hybridhost.targeting import model

    print("Not checked (the scheduler's configuration is not visible through the API): "
          "nova.conf of nova-scheduler needs (nova 34's default filters plus "
          "AggregateInstanceExtraSpecsFilter; keep any filter you added):")
    for line in model.SCHEDULER_SETTINGS:
        print("    %s" % line)
