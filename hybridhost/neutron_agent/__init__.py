"""The box's neutron Open vSwitch agent: neutron's own (``agent``), with a loop that wakes
on work (``loop``) and a way out within seconds of SIGTERM (``shutdown``), started by
``hybridhost-openvswitch-agent`` (``main``)."""
