"""No ``network-changed`` event to nova for nova's own port attach.

When nova-compute attaches a port to an instance (a boot, an interface attach) it updates
the port (``device_id``, ``device_owner``, ``binding:host_id``, ...) and then reads the
port, its network and subnets back to build the instance's network info. neutron's nova
notifier still queues ``network-changed`` for that update, because the port is now a
compute port. nova-api then takes the event and nova-compute refreshes the same network
info a second time, under the instance's ``refresh_cache`` lock, often while the
allocation that caused it is still running.

This service plugin replaces the notifier's port callback by one that drops exactly that
event and hands every other to neutron's notifier unchanged: users' port updates (fixed
IPs, security groups, names), floating IPs, deletes, and the port status events
(``network-vif-plugged``), which take another path.
"""

import logging

from neutron_lib.callbacks import events
from neutron_lib.callbacks import registry
from neutron_lib.callbacks import resources
from neutron_lib.plugins import directory
from neutron_lib.services import base as service_base
from oslo_serialization import jsonutils

from hybridhost import neutron_server

LOG = logging.getLogger(__name__)

ALIAS = neutron_server.NOVA_EVENTS_ALIAS
PLUGIN_TYPE = "HYBRIDHOST_NOVA_EVENTS"
#: What nova-compute's update of a port it attaches may carry
#: (nova.network.neutron: _update_ports_for_instance, _populate_neutron_extension_values).
NOVA_ATTACH_FIELDS = frozenset(("device_id", "device_owner", "binding:host_id",
                                "binding:profile", "dns_name", "mac_address"))
COMPUTE_OWNER_PREFIX = "compute:"


def _port_body(request_body):
    """The ``port`` object of an update's request body (bytes, text or dict), or None."""
    if isinstance(request_body, (bytes, str)):
        try:
            request_body = jsonutils.loads(request_body)
        except ValueError:
            return None
    port = request_body.get("port") if isinstance(request_body, dict) else None
    return port if isinstance(port, dict) else None


def is_nova_attach(payload):
    """True when ``payload`` (an API BEFORE_RESPONSE) is an update that attaches the port
    to an instance and carries nothing but what nova-compute sends when it does."""
    if payload.action != "update_port":
        return False
    body = _port_body(payload.request_body)
    if not body or not body.keys() <= NOVA_ATTACH_FIELDS:
        return False
    port = (payload.latest_state or {}).get("port") or {}
    device_id = body.get("device_id")
    return bool(device_id and device_id == port.get("device_id")
                and str(body.get("device_owner", "")).startswith(COMPUTE_OWNER_PREFIX))


class NovaAttachEventFilter(service_base.ServicePluginBase):
    """Takes the nova notifier's port callback over; see the module's docstring."""

    supported_extension_aliases: list[str] = []

    def __init__(self):
        super().__init__()
        self._notifier = getattr(directory.get_plugin(), "nova_notifier", None)
        if self._notifier is None:
            LOG.info("neutron does not tell nova of port changes: nothing to filter")
            return
        # The notifier subscribes this bound method itself (registry.receives); neutron
        # offers no other way to keep its other events and drop this one.
        neutron_callback = self._notifier._send_nova_notification  # noqa: SLF001
        registry.unsubscribe(neutron_callback, resources.PORT, events.BEFORE_RESPONSE)
        registry.subscribe(self.notify_nova, resources.PORT, events.BEFORE_RESPONSE)
        LOG.info("nova is no longer told network-changed for its own port attach")

    def notify_nova(self, resource, event, trigger, payload=None):
        if is_nova_attach(payload):
            LOG.debug("No network-changed for nova's attach of port %s",
                      payload.latest_state["port"].get("id"))
            return
        self._notifier.send_network_change(payload.action, payload.states[0],
                                           payload.latest_state)

    @classmethod
    def get_plugin_type(cls):
        return PLUGIN_TYPE

    def get_plugin_description(self):
        return "hybridhost: no network-changed event for nova's own port attach"
