"""What the lab's neutron server loads of hybridhost: a service plugin that keeps nova
from refreshing an instance's network twice for one port attach (``nova_events``).

This module imports nothing, so the renderer can name the plugin without pulling neutron
in."""

#: ``service_plugins`` alias of nova_events.NovaAttachEventFilter (entry point
#: ``neutron.service_plugins`` in setup.cfg).
NOVA_EVENTS_ALIAS = "hybridhost_nova_events"
