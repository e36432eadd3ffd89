"""neutrons OVS agents firewall driver (neutron imports stay in this package)."""
