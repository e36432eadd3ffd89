"""The openstacksdk adapter of the ledger: the two sides' resource providers, their
inventories and usages, read from placement.

The only module of ``hybridhost.ledger`` that talks to a cloud; every SDK or
keystoneauth failure becomes a ``PlacementUnavailable`` here, and :func:`observe`
turns that into a ledger that says why placement's figures are missing.
"""

import logging

from hybridhost import exception
from hybridhost.ledger import model

LOG = logging.getLogger(__name__)

# Seconds per request: 'hybridhost status' must answer even when placement does not.
API_TIMEOUT = 10


def _api_errors():
    from keystoneauth1 import exceptions as ks_exceptions
    from openstack import exceptions as sdk_exceptions

    return (ks_exceptions.ClientException, sdk_exceptions.SDKException)


def _one_line(err):
    text = " ".join(str(err).split())
    # requests' connection errors repeat the URL with the whole urllib3 chain.
    text = text.split(": HTTPConnectionPool(")[0].split(": HTTPSConnectionPool(")[0]
    return text[:300] or type(err).__name__


def service_connection(conf):
    """A connection as ``[openstack]``'s service user (the one nova-compute reports to
    placement as), through ``[openstack] placement_endpoint`` when set."""
    os_ = conf.openstack
    if not os_.password:
        raise exception.PlacementUnavailable(
            reason="[openstack] password is not set (no credentials to read it with)")
    import openstack

    return openstack.connect(
        auth_url=os_.auth_url, username=os_.username, password=os_.password,
        project_name=os_.project_name, user_domain_name=os_.user_domain_name,
        project_domain_name=os_.project_domain_name, region_name=os_.region_name,
        interface=os_.interface, placement_endpoint_override=os_.placement_endpoint,
        identity_api_version="3", api_timeout=API_TIMEOUT, load_yaml_config=False,
        load_envvars=False)


def _inventories(proxy, provider):
    return {inv.resource_class: model.Inventory(
        total=inv.total, reserved=inv.reserved or 0,
        allocation_ratio=float(inv.allocation_ratio or 1.0), max_unit=inv.max_unit)
        for inv in proxy.resource_provider_inventories(provider)}


def _provider(proxy, found):
    usages = proxy.fetch_resource_provider_usages(found).usages or {}
    return model.Provider(name=found.name, uuid=found.id,
                          inventories=_inventories(proxy, found),
                          usages={name: int(value) for name, value in usages.items()})


def read(conn, nodenames):
    """``{nodename: Provider}`` of the providers placement has under those names."""
    try:
        proxy = conn.placement
        return {found.name: _provider(proxy, found) for name in nodenames
                for found in proxy.resource_providers(name=name)}
    except _api_errors() as err:
        raise exception.PlacementUnavailable(reason=_one_line(err)) from err


def _quiet_discovery_warnings():
    """keystoneauth warns before the error the ledger reports anyway; keep it for --debug."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("keystoneauth").setLevel(logging.ERROR)


def _read_through(open_connection, nodenames):
    _quiet_discovery_warnings()
    try:
        conn = open_connection()
    except _api_errors() as err:
        raise exception.PlacementUnavailable(reason=_one_line(err)) from err
    try:
        return read(conn, nodenames)
    finally:
        conn.close()


def observe(plan, open_connection):
    """The ledger of ``plan`` with placement's figures, read through the connection
    ``open_connection()`` returns (closed afterwards); when placement cannot be read,
    the plan's side only and why."""
    try:
        providers = _read_through(open_connection, [side.nodename for side in plan.sides])
    except exception.PlacementUnavailable as err:
        LOG.debug("Placement not read", exc_info=True)
        return model.build(plan, unknown=str(err))
    return model.build(plan, providers)
