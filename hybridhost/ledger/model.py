"""The ledger: per side and resource class, what the plan says the side offers, what
placement holds, what is used and what is left, and whether the two agree.

Pure: built from the plan and from placement's providers (frozen dataclasses that
:mod:`.placement` reads); :mod:`.report` prints it.
"""

import dataclasses
import typing


@dataclasses.dataclass(frozen=True)
class Resource:
    """A placement resource class and where the plan keeps it."""

    name: str       # placement's resource class
    field: str      # the plan.Capacity attribute
    ratio: str      # the plan.Ratios attribute
    unit: str


RESOURCES = (
    Resource("VCPU", "vcpus", "cpu", "vCPU"),
    Resource("MEMORY_MB", "memory_mb", "ram", "MiB"),
    Resource("DISK_GB", "disk_gb", "disk", "GiB"),
)


@dataclasses.dataclass(frozen=True)
class Inventory:
    """One resource class of a provider, as placement holds it."""

    total: int
    reserved: int
    allocation_ratio: float
    max_unit: typing.Optional[int] = None

    @property
    def offer(self):
        return self.total - self.reserved

    @property
    def capacity(self):
        """What placement lets allocations add up to: (total - reserved) x ratio."""
        return int(self.offer * self.allocation_ratio)


@dataclasses.dataclass(frozen=True)
class Provider:
    """A resource provider: its inventories and usages by resource class."""

    name: str
    uuid: str
    inventories: typing.Mapping[str, Inventory]
    usages: typing.Mapping[str, int]


@dataclasses.dataclass(frozen=True)
class Flavor:
    """What one instance of a flavor takes, and the side it lands on."""

    name: str
    side: str
    vcpus: int
    memory_mb: int
    disk_gb: int


@dataclasses.dataclass(frozen=True)
class Line:
    """One side's one resource: the plan's figures and, when read, placement's."""

    side: str
    provider: str
    resource: Resource
    offer: int                          # the plan: what the side offers placement
    ratio: float                        # the plan: the side's allocation ratio
    inventory: typing.Optional[Inventory]   # placement's; None when not read or missing
    used: typing.Optional[int]          # placement's usage; None when not read

    @property
    def planned(self):
        return int(self.offer * self.ratio)

    @property
    def capacity(self):
        return self.inventory.capacity if self.inventory else None

    @property
    def free(self):
        if self.capacity is None or self.used is None:
            return None
        return max(self.capacity - self.used, 0)

    @property
    def matches(self):
        """True when placement holds what the plan says; None when not read."""
        if self.inventory is None:
            return None
        return (self.inventory.offer == self.offer
                and _same_ratio(self.inventory.allocation_ratio, self.ratio))

    @property
    def over_used(self):
        return self.capacity is not None and self.used is not None and \
            self.used > self.capacity


@dataclasses.dataclass(frozen=True)
class Room:
    """How many more of a flavor fit on its side, and which resource is the limit:
    the first to run out or, with ``max_unit`` set, one the flavor asks more of than
    placement lets a single instance take (it never fits)."""

    flavor: Flavor
    count: typing.Optional[int]         # None when placement was not read
    limit: typing.Optional[str]
    max_unit: typing.Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Ledger:
    lines: tuple
    unknown: typing.Optional[str] = None    # why placement's figures are missing
    missing: tuple = ()                     # (side, nodename) placement has no provider for
    uuids: typing.Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def read(self):
        return self.unknown is None

    def side_lines(self, side):
        return [line for line in self.lines if line.side == side]

    @property
    def problems(self):
        """One sentence per disagreement between placement and the plan, or over-use."""
        found = ["%s: placement has no resource provider named %s (is nova-compute-%s "
                 "up? 'hybridhost status')" % (side, name, side) for side, name in self.missing]
        for line in self.lines:
            found.extend(_line_problems(line))
        return found

    def room(self, flavor):
        return _room(self.side_lines(flavor.side), flavor)


def _same_ratio(placement_ratio, plan_ratio):
    return abs(placement_ratio - plan_ratio) < 1e-6


def _room(lines, flavor):
    if not lines or any(line.capacity is None or line.used is None for line in lines):
        return Room(flavor, None, None)
    best = None
    for line in lines:
        amount = getattr(flavor, line.resource.field)
        if amount <= 0:
            continue
        max_unit = line.inventory.max_unit
        if max_unit is not None and amount > max_unit:
            return Room(flavor, 0, line.resource.name, max_unit)
        if best is None or line.free // amount < best[0]:
            best = (line.free // amount, line.resource.name)
    return Room(flavor, *best) if best else Room(flavor, None, None)


def _figure(value, resource):
    return "%d %s" % (value, resource.unit)


def _offer_problem(line):
    inventory, res = line.inventory, line.resource
    text = "%s %s: placement offers %s (total %d - reserved %d), the plan %s" % (
        line.side, res.name, _figure(inventory.offer, res), inventory.total,
        inventory.reserved, _figure(line.offer, res))
    if line.side == "kvm" and inventory.offer > line.offer:
        text += (": more than the side's share; libvirt reports more than when "
                 "nova-kvm.conf was rendered (or [host] kvm_* changed since), and "
                 "'hybridhost up' renders its reserved_host_* again and restarts "
                 "nova-compute-kvm")
    else:
        text += (": the rendered files or nova-compute's last report (every minute) are "
                 "older than hybridhost.conf; 'hybridhost render --check' tells which")
    return text


def _line_problems(line):
    if line.inventory is None:
        # used is None too when the provider is missing or placement was not read.
        if line.used is None:
            return []
        return ["%s %s: placement holds no inventory of it on %s" % (
            line.side, line.resource.name, line.provider)]
    found = []
    if line.inventory.offer != line.offer:
        found.append(_offer_problem(line))
    if not _same_ratio(line.inventory.allocation_ratio, line.ratio):
        found.append("%s %s: placement's allocation ratio is %g, the plan's %g" % (
            line.side, line.resource.name, line.inventory.allocation_ratio, line.ratio))
    if line.over_used:
        found.append("%s %s: over-used: allocations hold %s, the capacity is %s" % (
            line.side, line.resource.name, _figure(line.used, line.resource),
            _figure(line.capacity, line.resource)))
    return found


def _side_lines(side, provider):
    lines = []
    for res in RESOURCES:
        inventory = provider.inventories.get(res.name) if provider else None
        used = provider.usages.get(res.name, 0) if provider else None
        lines.append(Line(side=side.key, provider=side.nodename, resource=res,
                          offer=getattr(side.offer, res.field),
                          ratio=getattr(side.ratios, res.ratio),
                          inventory=inventory, used=used))
    return lines


def build(plan, providers=None, unknown=None):
    """The ledger of ``plan``'s sides, from ``providers`` (``{nodename: Provider}``
    as placement has them), or the plan's side only with why (``unknown``)."""
    if providers is None and unknown is None:
        raise ValueError("build needs placement's providers or why they are unknown")
    lines, missing, uuids = [], [], {}
    for side in plan.sides:
        provider = providers.get(side.nodename) if providers is not None else None
        if providers is not None and provider is None:
            missing.append((side.key, side.nodename))
        if provider is not None:
            uuids[side.key] = provider.uuid
        lines.extend(_side_lines(side, provider))
    return Ledger(lines=tuple(lines), unknown=unknown, missing=tuple(missing), uuids=uuids)
