"""Targeting containers vs VMs in nova: the cloud's state as data, and what apply changes.

Pure: no I/O. ``cloud.py`` reads a cloud into a :class:`CloudState` and carries out
:class:`Change` objects; ``lint.py`` turns a state into findings.

Each side of the box is targeted twice (README.rst, "Choosing container or VM by flavor"):

* the documented way: a host aggregate per side (``hh-docker``, ``hh-kvm``) with
  metadata ``hypervisor=docker|kvm``, and flavors with the matching scoped extra spec
  ``aggregate_instance_extra_specs:hypervisor`` (AggregateInstanceExtraSpecsFilter);
* current practice: a custom trait per compute's resource provider (``CUSTOM_HV_DOCKER``,
  ``CUSTOM_HV_KVM``), flavors with ``trait:CUSTOM_HV_<X>=required``, the same trait
  required in the aggregate's metadata (isolated aggregate filtering) and ``img_hv_type``
  on images (ImagePropertiesFilter: the Docker side advertises ``docker``, libvirt with
  ``virt_type=qemu`` advertises ``qemu``).

Which flavors are which: ``--container-flavor``/``--vm-flavor`` first, then the
flavor's existing side marks, then the naming convention: a flavor whose name has a
word (split at ``.``, ``-``, ``_``) ``container`` or ``docker`` is a container flavor,
one with ``vm`` or ``kvm`` a VM flavor (``hh.container.large``, ``vm-small``).
"""

import dataclasses
import re
import typing

DOCKER, KVM = "docker", "kvm"
AGGREGATE_SPEC = "aggregate_instance_extra_specs:hypervisor"
HV_TYPE = "img_hv_type"
#: Glance's legacy name of img_hv_type; nova still reads it.
LEGACY_HV_TYPE = "hypervisor_type"
REQUIRED = "required"
#: img_hv_type values a libvirt compute advertises (qemu always; kvm where usable).
LIBVIRT_HV_TYPES = ("qemu", "kvm")
#: Images that are never booted on their own (kernel and ramdisk of an ami).
NOT_BOOTABLE_DISK_FORMATS = ("aki", "ari")

#: nova's default filters plus the one the aggregate way needs.
ENABLED_FILTERS = ("ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
                   "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
                   "AggregateInstanceExtraSpecsFilter")
SCHEDULER_SETTINGS = (
    "[filter_scheduler] enabled_filters = %s" % ",".join(ENABLED_FILTERS),
    "[scheduler] enable_isolated_aggregate_filtering = true",
)


@dataclasses.dataclass(frozen=True)
class SideSpec:
    key: str
    label: str          # what users call it
    trait: str          # custom trait on the compute's resource provider
    aggregate: str      # host aggregate of this side
    hypervisor: str     # the aggregate's 'hypervisor' metadata / flavor extra spec
    hv_type: str        # img_hv_type that only this side advertises

    @property
    def trait_spec(self):
        return "trait:%s" % self.trait

    @property
    def flavor_specs(self):
        return {AGGREGATE_SPEC: self.hypervisor, self.trait_spec: REQUIRED}

    @property
    def aggregate_metadata(self):
        return {"hypervisor": self.hypervisor, self.trait_spec: REQUIRED}


SIDES = {
    DOCKER: SideSpec(DOCKER, "container", "CUSTOM_HV_DOCKER", "hh-docker", "docker",
                     "docker"),
    KVM: SideSpec(KVM, "VM", "CUSTOM_HV_KVM", "hh-kvm", "kvm", "qemu"),
}


def other(side):
    return KVM if side == DOCKER else DOCKER


@dataclasses.dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    extra_specs: typing.Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class Image:
    id: str
    name: str
    container_format: str
    disk_format: str
    properties: typing.Mapping[str, str]

    @property
    def is_container(self):
        return self.container_format == "docker"

    @property
    def is_bootable(self):
        return self.disk_format not in NOT_BOOTABLE_DISK_FORMATS

    @property
    def hv_type(self):
        """What nova reads: img_hv_type wins over the legacy name when both are set."""
        return self.properties.get(HV_TYPE) or self.properties.get(LEGACY_HV_TYPE)


@dataclasses.dataclass(frozen=True)
class Aggregate:
    id: str
    name: str
    hosts: typing.Tuple[str, ...]
    metadata: typing.Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class Provider:
    """A compute node's resource provider (its UUID is the hypervisor's id)."""

    uuid: str
    name: str
    host: str
    traits: typing.FrozenSet[str]


@dataclasses.dataclass(frozen=True)
class CloudState:
    flavors: typing.Tuple[Flavor, ...] = ()
    images: typing.Tuple[Image, ...] = ()
    aggregates: typing.Tuple[Aggregate, ...] = ()
    providers: typing.Tuple[Provider, ...] = ()
    traits: typing.FrozenSet[str] = frozenset()   # custom traits known to placement

    def aggregate(self, name):
        return next((a for a in self.aggregates if a.name == name), None)

    def providers_of(self, host):
        return tuple(p for p in self.providers if p.host == host)


@dataclasses.dataclass(frozen=True)
class Request:
    """What ``targeting apply`` was asked to do."""

    docker_host: str
    kvm_host: str
    container_flavors: typing.Tuple[str, ...] = ()
    vm_flavors: typing.Tuple[str, ...] = ()
    vm_hv_type: typing.Optional[str] = SIDES[KVM].hv_type   # None: leave VM images

    def host(self, side):
        return self.docker_host if side == DOCKER else self.kvm_host


@dataclasses.dataclass(frozen=True)
class Change:
    """One change apply makes; ``action`` names the cloud call, ``args`` its arguments."""

    action: str
    target: str
    description: str
    args: typing.Tuple = ()


# --- Reading sides --------------------------------------------------------------------


def required_trait_sides(extra_specs):
    return {key for key, side in SIDES.items()
            if extra_specs.get(side.trait_spec) == REQUIRED}


def aggregate_spec_side(extra_specs):
    """The side the scoped aggregate extra spec asks for, '' for another value, or None."""
    value = extra_specs.get(AGGREGATE_SPEC)
    if value is None:
        return None
    return next((key for key, side in SIDES.items() if side.hypervisor == value), "")


def marked_side(flavor):
    """The one side a flavor's extra specs point at, or None when none or conflicting."""
    sides = required_trait_sides(flavor.extra_specs)
    agg = aggregate_spec_side(flavor.extra_specs)
    if agg:
        sides = sides | {agg}
    return next(iter(sides)) if len(sides) == 1 else None


_WORDS = re.compile(r"[._-]+")
_NAME_WORDS = {"container": DOCKER, "docker": DOCKER, "vm": KVM, "kvm": KVM}


def convention_side(name):
    """The side the naming convention gives a flavor name, or None."""
    sides = {_NAME_WORDS[w] for w in _WORDS.split(name.lower()) if w in _NAME_WORDS}
    return next(iter(sides)) if len(sides) == 1 else None


def intended_side(flavor, request):
    """Explicit arguments, then existing marks, then the naming convention."""
    if flavor.name in request.container_flavors or flavor.id in request.container_flavors:
        return DOCKER
    if flavor.name in request.vm_flavors or flavor.id in request.vm_flavors:
        return KVM
    return marked_side(flavor) or convention_side(flavor.name)


# --- What apply changes ---------------------------------------------------------------


def changes(state, request):
    """Every change that brings ``state`` to what ``request`` asks; [] when done."""
    out = []
    out += _trait_changes(state)
    for side in (DOCKER, KVM):
        out += _provider_changes(state, request, side)
        out += _aggregate_changes(state, request, side)
    for flavor in state.flavors:
        out += _flavor_changes(flavor, intended_side(flavor, request))
    for image in state.images:
        out += _image_changes(image, request)
    return out


def _trait_changes(state):
    return [Change("create_trait", trait, "create custom trait %s" % trait, (trait,))
            for trait in sorted(s.trait for s in SIDES.values()) if trait not in state.traits]


def _provider_changes(state, request, side):
    spec, out = SIDES[side], []
    unwanted = SIDES[other(side)].trait
    for provider in state.providers_of(request.host(side)):
        add = {spec.trait} - provider.traits
        remove = {unwanted} & provider.traits
        if add or remove:
            what = ", ".join(["+%s" % t for t in sorted(add)]
                             + ["-%s" % t for t in sorted(remove)])
            out.append(Change("set_provider_traits", provider.name,
                              "resource provider %s (%s): traits %s" % (
                                  provider.name, provider.uuid, what),
                              (provider.uuid, tuple(sorted(add)), tuple(sorted(remove)))))
    return out


def _aggregate_changes(state, request, side):
    spec, out = SIDES[side], []
    host, foreign = request.host(side), SIDES[other(side)].aggregate
    aggregate = state.aggregate(spec.aggregate)
    if aggregate is None:
        out.append(Change("create_aggregate", spec.aggregate,
                          "create host aggregate %s" % spec.aggregate, (spec.aggregate,)))
        metadata, hosts = {}, ()
    else:
        metadata, hosts = aggregate.metadata, aggregate.hosts
    missing = {k: v for k, v in spec.aggregate_metadata.items() if metadata.get(k) != v}
    if missing:
        out.append(Change("set_aggregate_metadata", spec.aggregate,
                          "aggregate %s: metadata %s" % (spec.aggregate, _pairs(missing)),
                          (spec.aggregate, tuple(sorted(missing.items())))))
    if host not in hosts:
        out.append(Change("add_host", spec.aggregate, "aggregate %s: add host %s" % (
            spec.aggregate, host), (spec.aggregate, host)))
    other_aggregate = state.aggregate(foreign)
    if other_aggregate is not None and host in other_aggregate.hosts:
        out.append(Change("remove_host", foreign, "aggregate %s: remove host %s (it is the %s"
                          " side's)" % (foreign, host, spec.label), (foreign, host)))
    return out


def _flavor_changes(flavor, side):
    if side is None:
        return []
    wanted = SIDES[side].flavor_specs
    specs = flavor.extra_specs
    out = []
    wrong = SIDES[other(side)].trait_spec
    if specs.get(wrong) == REQUIRED:
        out.append(Change("unset_flavor_spec", flavor.name, "flavor %s: unset %s" % (
            flavor.name, wrong), (flavor.id, wrong)))
    missing = {k: v for k, v in wanted.items() if specs.get(k) != v}
    if missing:
        out.append(Change("set_flavor_specs", flavor.name, "flavor %s (%s): set %s" % (
            flavor.name, SIDES[side].label, _pairs(missing)),
            (flavor.id, tuple(sorted(missing.items())))))
    return out


def _image_changes(image, request):
    if not image.is_bootable:
        return []
    if image.is_container:
        wanted, fine = SIDES[DOCKER].hv_type, (SIDES[DOCKER].hv_type,)
    elif request.vm_hv_type:
        wanted, fine = request.vm_hv_type, LIBVIRT_HV_TYPES
    else:
        return []
    if image.hv_type in fine:
        return []
    return [Change("set_image_property", image.name or image.id,
                   "image %s (%s): set %s=%s%s" % (
                       image.name or image.id, "container" if image.is_container else "VM",
                       HV_TYPE, wanted, " (was %s)" % image.hv_type if image.hv_type else ""),
                   (image.id, HV_TYPE, wanted))]


def _pairs(mapping):
    return ", ".join("%s=%s" % item for item in sorted(mapping.items()))
