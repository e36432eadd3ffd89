"""``targeting apply``: check the request, plan the changes, make them, report each one."""

import logging

from hybridhost import exception
from hybridhost.targeting import model

LOG = logging.getLogger(__name__)


def check_request(state, request):
    """Refuse (exit 2) a request naming unknown flavors or hosts, or a flavor twice."""
    both = set(request.container_flavors) & set(request.vm_flavors)
    if both:
        raise exception.TargetingInvalid(what="--container-flavor/--vm-flavor", reason=(
            "%s given as both a container and a VM flavor" % ", ".join(sorted(both))))
    known = {f.name for f in state.flavors} | {f.id for f in state.flavors}
    unknown = [n for n in request.container_flavors + request.vm_flavors if n not in known]
    if unknown:
        raise exception.TargetingInvalid(what="flavor", reason="no flavor %s in this cloud "
                                         "(openstack flavor list --all)" % ", ".join(unknown))
    for side in (model.DOCKER, model.KVM):
        host = request.host(side)
        if not state.providers_of(host):
            raise exception.TargetingInvalid(what="--%s-host %s" % (side, host), reason=(
                "no compute node with this service host in the cloud; start its "
                "nova-compute or pass the right host (openstack compute service list)"))


def run(cloud, request, report, dry_run=False):
    """Bring the cloud to ``request``; ``report(line)`` per change. (state, changes)."""
    state = cloud.state(hosts=(request.docker_host, request.kvm_host))
    check_request(state, request)
    planned = model.changes(state, request)
    for change in planned:
        if not dry_run:
            cloud.apply(change)
        report("%s %s" % ("would change:" if dry_run else "changed:", change.description))
    LOG.info("targeting apply: %d change(s)%s", len(planned), " (dry run)" if dry_run else "")
    return state, planned


def unassigned(state, request):
    """Flavors apply leaves alone because no argument, mark or name gives them a side."""
    return sorted(f.name for f in state.flavors if model.intended_side(f, request) is None)
