"""Lint a cloud's flavors, images and the box's computes for container/VM targeting.

Pure: a :class:`~hybridhost.targeting.model.CloudState` in, :class:`Finding` objects out.
A finding is anything that lets a server land on the wrong side of the box, on either
side, or on neither; each one says why and how to fix it.
"""

import dataclasses

from hybridhost.targeting import model
from hybridhost.targeting.model import DOCKER
from hybridhost.targeting.model import KVM
from hybridhost.targeting.model import SIDES

APPLY = "hybridhost targeting apply"


@dataclasses.dataclass(frozen=True)
class Finding:
    kind: str        # flavor, image, host, setup
    subject: str     # its name
    lands: str       # "either side", "neither side", "the wrong side"; "" for setup
    problem: str
    fix: str


def findings(state, hosts=None):
    """Every finding in ``state``; ``hosts`` (a model.Request) adds the computes' setup."""
    out = []
    for flavor in sorted(state.flavors, key=lambda f: f.name):
        out += flavor_findings(flavor)
    for image in sorted(state.images, key=lambda i: i.name or i.id):
        out += image_findings(image)
    if hosts is not None:
        out += host_findings(state, hosts)
    return out


# --- flavors --------------------------------------------------------------------------


def flavor_findings(flavor):
    """The unscoped-key finding, plus the first of the exclusive side rules that fires."""
    specs = flavor.extra_specs
    facts = (flavor, model.required_trait_sides(specs), model.aggregate_spec_side(specs))
    out = [f for f in (_unscoped_key(*facts),) if f]
    for rule in _SIDE_RULES:
        finding = rule(*facts)
        if finding:
            return out + [finding]
    return out


def _unscoped_key(flavor, required, agg):
    if "hypervisor" not in flavor.extra_specs:
        return None
    return _flavor(flavor.name, "neither side", "unscoped extra spec hypervisor=%s is read "
                   "by ComputeCapabilitiesFilter, which no host passes" % (
                       flavor.extra_specs["hypervisor"]),
                   "unset it and use %s=<side>: %s" % (model.AGGREGATE_SPEC,
                                                       _apply_hint(flavor)))


def _both_traits(flavor, required, agg):
    if len(required) < 2:
        return None
    return _flavor(flavor.name, "neither side", "requires both %s and %s; no compute has "
                   "both" % (SIDES[DOCKER].trait, SIDES[KVM].trait),
                   "keep one side: " + _apply_hint(flavor))


def _unknown_aggregate_value(flavor, required, agg):
    if agg != "":
        return None
    return _flavor(flavor.name, "neither side", "%s=%s matches no aggregate of the box "
                   "(hh-docker has docker, hh-kvm has kvm)" % (
                       model.AGGREGATE_SPEC, flavor.extra_specs[model.AGGREGATE_SPEC]),
                   _apply_hint(flavor))


def _trait_and_aggregate_disagree(flavor, required, agg):
    if not (required and agg) or agg in required:
        return None
    return _flavor(flavor.name, "neither side", "its trait asks for the %s side but %s=%s "
                   "asks for the %s side" % (
                       SIDES[next(iter(required))].label, model.AGGREGATE_SPEC,
                       flavor.extra_specs[model.AGGREGATE_SPEC], SIDES[agg].label),
                   _apply_hint(flavor))


def _no_side(flavor, required, agg):
    if required or agg is not None:
        return None
    return _flavor(flavor.name, "either side", "requests no side: no CUSTOM_HV_* trait "
                   "and no %s (AggregateInstanceExtraSpecsFilter passes a flavor without "
                   "it on every host; with isolated aggregate filtering it fits neither of "
                   "the box's computes)" % model.AGGREGATE_SPEC, _apply_hint(flavor))


def _aggregate_spec_only(flavor, required, agg):
    if required or not agg:
        return None
    return _flavor(flavor.name, "neither side", "has %s=%s but not %s=required: isolated "
                   "aggregate filtering keeps it off %s, and without "
                   "AggregateInstanceExtraSpecsFilter it lands anywhere" % (
                       model.AGGREGATE_SPEC, flavor.extra_specs[model.AGGREGATE_SPEC],
                       SIDES[agg].trait_spec, SIDES[agg].aggregate),
                   _apply_hint(flavor, agg))


_SIDE_RULES = (_both_traits, _unknown_aggregate_value, _trait_and_aggregate_disagree,
               _no_side, _aggregate_spec_only)


def _flavor(name, lands, problem, fix):
    return Finding("flavor", name, lands, problem, fix)


def _apply_hint(flavor, side=None):
    name = flavor.name
    side = side or model.convention_side(name)
    if side == DOCKER:
        return "%s --container-flavor %s" % (APPLY, name)
    if side == KVM:
        return "%s --vm-flavor %s" % (APPLY, name)
    return "%s --container-flavor %s (or --vm-flavor %s)" % (APPLY, name, name)


# --- images ---------------------------------------------------------------------------


def image_findings(image):
    if not image.is_bootable:
        return []
    name, hv = image.name or image.id, image.hv_type
    set_cmd = "openstack image set --property %s=%%s %s (or %s)" % (
        model.HV_TYPE, image.id, APPLY)
    if image.is_container and hv is None:
        return [Finding("image", name, "the wrong side", "container image "
                        "(container_format=docker) without %s=docker: a VM flavor sends "
                        "it to the libvirt side, which cannot run it" % model.HV_TYPE,
                        set_cmd % "docker")]
    if image.is_container and hv != SIDES[DOCKER].hv_type:
        return [Finding("image", name, "the wrong side", "container image with %s=%s: "
                        "only the Docker side runs container_format=docker images and "
                        "it advertises only 'docker'" % (model.HV_TYPE, hv),
                        set_cmd % "docker")]
    if not image.is_container and hv is None:
        return [Finding("image", name, "either side", "VM image without %s: a container "
                        "flavor schedules it to the Docker side and the server fails at "
                        "boot there (the Docker driver refuses images that are not "
                        "container_format=docker)" % model.HV_TYPE,
                        set_cmd % SIDES[KVM].hv_type)]
    if not image.is_container and hv not in model.LIBVIRT_HV_TYPES:
        return [Finding("image", name, "the wrong side", "VM image with %s=%s: libvirt "
                        "with virt_type=qemu advertises 'qemu'" % (model.HV_TYPE, hv),
                        set_cmd % SIDES[KVM].hv_type)]
    return []


# --- the box's computes ---------------------------------------------------------------


def host_findings(state, hosts):
    out = []
    for side in (DOCKER, KVM):
        host = hosts.host(side)
        if not state.providers_of(host):
            out.append(Finding("host", host, "neither side", "no compute node of host %s "
                               "in this cloud, so %s flavors have nowhere to go" % (
                                   host, SIDES[side].label),
                               "start its nova-compute, check 'openstack compute service "
                               "list', or pass the right --%s-host" % side))
        out += _foreign_aggregates(state, side, host)
    setup = [c for c in model.changes(state, hosts) if c.action in _SETUP_ACTIONS]
    for change in setup:
        out.append(Finding("setup", change.target, "", "not set up: %s"
                           % change.description, APPLY))
    return out


_SETUP_ACTIONS = ("create_trait", "set_provider_traits", "create_aggregate",
                  "set_aggregate_metadata", "add_host", "remove_host")


def _foreign_aggregates(state, side, host):
    out, wrong = [], SIDES[model.other(side)]
    for aggregate in state.aggregates:
        if host not in aggregate.hosts or aggregate.name == wrong.aggregate:
            continue
        meta = aggregate.metadata
        if meta.get("hypervisor") == wrong.hypervisor or \
                meta.get(wrong.trait_spec) == model.REQUIRED:
            out.append(Finding("host", host, "the wrong side", "aggregate %s holds this %s "
                               "host but its metadata is for the %s side" % (
                                   aggregate.name, SIDES[side].label, wrong.label),
                               "openstack aggregate remove host %s %s" % (
                                   aggregate.name, host)))
    return out
