"""``hybridhost-openvswitch-agent``: neutron's ``neutron-openvswitch-agent``, same options
and config files, running ``agent.HybridhostOVSAgent``."""

import importlib

from neutron.plugins.ml2.drivers.openvswitch.agent import ovs_neutron_agent
from os_ken.lib import hub

from hybridhost.neutron_agent import agent
from hybridhost.neutron_agent import shutdown

#: neutron's command module. Imported only when the command runs: importing it selects
#: oslo.service's threading backend, which a process that chose eventlet cannot take.
NEUTRON_COMMAND = "neutron.cmd.agents.ovs_neutron_agent"


def main():
    neutron_command = importlib.import_module(NEUTRON_COMMAND)
    # neutron's main() builds the agent, and the agent its plugin API, by these
    # module-level names, and offers no other way to choose their classes.
    ovs_neutron_agent.OVSNeutronAgent = agent.HybridhostOVSAgent
    ovs_neutron_agent.OVSPluginApi = shutdown.QuickStopPluginApi
    # The main thread waits here for os-ken's threads; see shutdown.joinall_waking.
    hub.joinall = shutdown.joinall_waking
    neutron_command.main()
