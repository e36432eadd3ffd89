"""Hand-written placement data and a fake of the openstacksdk calls the ledger makes."""

import dataclasses
import types

from hybridhost.ledger import model


def as_rendered(plan, usages=None):
    """``{nodename: Provider}`` as nova reports the plan once rendered: the Docker
    driver its offer with nothing reserved, libvirt its own totals less the reserve."""
    providers = {}
    for side in plan.sides:
        total = side.offer if side.key == "docker" else plan.libvirt
        inventories = {res.name: model.Inventory(
            total=getattr(total, res.field), reserved=getattr(side.reserved, res.field),
            allocation_ratio=getattr(side.ratios, res.ratio),
            max_unit=getattr(total, res.field)) for res in model.RESOURCES}
        providers[side.nodename] = model.Provider(
            name=side.nodename, uuid="uuid-%s" % side.key, inventories=inventories,
            usages=dict((usages or {}).get(side.key, {})))
    return providers


def changed(providers, nodename, resource, **fields):
    """``providers`` with one inventory of one provider changed."""
    provider = providers[nodename]
    inventories = dict(provider.inventories)
    inventories[resource] = dataclasses.replace(inventories[resource], **fields)
    return dict(providers, **{nodename: dataclasses.replace(provider,
                                                            inventories=inventories)})


class FakePlacement:
    """The placement proxy's resource_providers, resource_provider_inventories and
    fetch_resource_provider_usages over ``{name: model.Provider}``."""

    def __init__(self, providers):
        self.providers = providers

    def resource_providers(self, name=None):
        for provider in self.providers.values():
            if name is None or provider.name == name:
                yield types.SimpleNamespace(id=provider.uuid, name=provider.name)

    def _find(self, found):
        return next(p for p in self.providers.values() if p.uuid == found.id)

    def resource_provider_inventories(self, found):
        for name, inv in self._find(found).inventories.items():
            yield types.SimpleNamespace(
                resource_class=name, total=inv.total, reserved=inv.reserved,
                allocation_ratio=inv.allocation_ratio, max_unit=inv.max_unit)

    def fetch_resource_provider_usages(self, found):
        return types.SimpleNamespace(id=found.id, name=found.name,
                                     usages=dict(self._find(found).usages))


class FakeConnection:
    """An openstacksdk Connection with only ``placement`` (raising ``fails`` when set)
    and, for the lab, the compute and network proxies the health check reads."""

    def __init__(self, providers=None, fails=None, compute=None, network=None):
        self._placement = FakePlacement(providers or {})
        self.fails = fails
        self.compute, self.network = compute, network
        self.closed = False

    @property
    def placement(self):
        if self.fails is not None:
            raise self.fails
        return self._placement

    def close(self):
        self.closed = True
