"""hybridhost: one machine, a Docker nova-compute and a libvirt nova-compute, one OVS agent."""
