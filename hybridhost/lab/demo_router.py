"""The lab's external network and demo router ([lab] l3_agent).

``hh-public`` is a flat network on the physnet the OVS agent maps to ``br-ex``; the
box's own address there (``hybridhost.lab.public_bridge``) is outside its subnet's pool,
which holds every other address, for router gateways and floating IPs. ``hh-demo-router``
joins the demo subnet to it. Idempotent: found by name, created or completed when
something is missing.
"""

import logging

from hybridhost.lab import public_bridge
from hybridhost.render import l3_agent

LOG = logging.getLogger(__name__)

PUBLIC = "hh-public"
PUBLIC_SUBNET = "hh-public-subnet"
ROUTER = "hh-demo-router"
INTERFACE_OWNER = "network:router_interface"


def ensure_public_network(conn, conf):
    plan = public_bridge.addressing(conf)
    network = conn.network.find_network(PUBLIC)
    if network is None:
        network = conn.network.create_network(
            name=PUBLIC, is_router_external=True, provider_network_type="flat",
            provider_physical_network=l3_agent.PHYSNET,
            description="hybridhost lab external network (floating IPs, reachable "
                        "from the box only)")
    subnet = conn.network.find_subnet(PUBLIC_SUBNET, network_id=network.id)
    if subnet is None:
        # No gateway: routers get no default route, so the lab's traffic stops at the
        # box (whose address is on-link) and never leaves through its uplink.
        conn.network.create_subnet(
            name=PUBLIC_SUBNET, network_id=network.id, ip_version=4,
            cidr=str(plan.network), gateway_ip=None, is_dhcp_enabled=False,
            allocation_pools=[{"start": str(plan.pool_start), "end": str(plan.pool_end)}])
    elif subnet.gateway_ip:
        LOG.info("Removing the gateway of subnet %s (the lab stays on the box)", PUBLIC_SUBNET)
        conn.network.update_subnet(subnet, gateway_ip=None)
    return network


def has_interface(conn, router, subnet_id):
    for port in conn.network.ports(device_id=router.id, device_owner=INTERFACE_OWNER):
        if any(ip.get("subnet_id") == subnet_id for ip in port.fixed_ips or ()):
            return True
    return False


def ensure(conn, conf, subnet):
    """hh-public, and hh-demo-router with its gateway there and an interface on
    ``subnet``; returns the router."""
    public = ensure_public_network(conn, conf)
    router = conn.network.find_router(ROUTER)
    gateway = {"network_id": public.id}
    if router is None:
        router = conn.network.create_router(name=ROUTER, external_gateway_info=gateway)
    elif (router.external_gateway_info or {}).get("network_id") != public.id:
        LOG.info("Setting the gateway of router %(router)s to %(net)s",
                 {"router": ROUTER, "net": PUBLIC})
        router = conn.network.update_router(router, external_gateway_info=gateway)
    if not has_interface(conn, router, subnet.id):
        conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    return router
