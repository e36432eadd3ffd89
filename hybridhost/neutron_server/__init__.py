"""What the lab's neutron server loads of hybridhost: a service plugin that keeps nova
from refreshing an instance's network twice for one port attach (``nova_events``)."""
