"""The box's neutron Open vSwitch agent: neutron's own, with a loop that wakes on work
(``loop``), started by ``hybridhost-openvswitch-agent`` (``main``)."""
