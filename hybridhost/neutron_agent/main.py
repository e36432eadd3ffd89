"""``hybridhost-openvswitch-agent``: neutron's ``neutron-openvswitch-agent``, same options
and config files, running ``loop.EventDrivenOVSAgent``."""

import importlib

from neutron.plugins.ml2.drivers.openvswitch.agent import ovs_neutron_agent

from hybridhost.neutron_agent import loop

#: neutron's command module. Imported only when the command runs: importing it selects
#: oslo.service's threading backend, which a process that chose eventlet cannot take.
NEUTRON_COMMAND = "neutron.cmd.agents.ovs_neutron_agent"


def main():
    neutron_command = importlib.import_module(NEUTRON_COMMAND)
    # neutron's main() builds the agent by this module-level name and offers no other
    # way to choose its class.
    ovs_neutron_agent.OVSNeutronAgent = loop.EventDrivenOVSAgent
    neutron_command.main()
