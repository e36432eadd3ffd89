"""neutron's OVS agent's firewall driver (neutron imports stay in this package)."""
