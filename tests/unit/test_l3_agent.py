"""The lab's L3 agent ([lab] l3_agent): l3_agent.ini, its program, the router service in
neutron, and the external bridge in the one OVS agent's mappings and start order."""

import configparser

import pytest

from hybridhost import conf as hh_conf
from hybridhost import exception
from hybridhost import lab_state
from hybridhost import render
from hybridhost.lab import public_bridge
from hybridhost.render import control_plane
from hybridhost.render import l3_agent
from hybridhost.render import rules
from tests.unit import confutils

L3_INI = "conf/lab/l3_agent.ini"


def _ini(text):
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    return parser


def _rendered(tmp_path, extra=""):
    conf = confutils.load(tmp_path, "[lab]\nenabled = true\n" + extra)
    lab_state.ensure_secrets(conf)
    plan, files = render.render(conf)
    return conf, plan, files


def _agent_command(files):
    box = _ini(files["supervisord.d/hybridhost.conf"])
    return box.get("program:neutron-openvswitch-agent", "command")


class TestOn:
    def test_one_legacy_agent_on_the_ovs_agents_host_with_veths(self, tmp_path):
        _conf, plan, files = _rendered(tmp_path)
        ini = _ini(files[L3_INI])
        assert ini.get("DEFAULT", "host") == plan.agent.host
        assert ini.get("DEFAULT", "interface_driver") == "openvswitch"
        assert ini.get("DEFAULT", "ovs_use_veth") == "true"
        assert ini.get("DEFAULT", "agent_mode") == "legacy"
        assert ini.get("DEFAULT", "enable_metadata_proxy") == "false"
        assert ini.get("agent", "root_helper") == "env"
        assert ini.get("ovs", "integration_bridge") == "br-int"
        assert "mysql" not in files[L3_INI]

    def test_its_state_and_locks_are_under_the_lab_state_dir(self, tmp_path):
        conf, plan, files = _rendered(tmp_path)
        ini = _ini(files[L3_INI])
        state = lab_state.layout(conf).path("neutron-l3")
        assert ini.get("DEFAULT", "state_path") == state
        assert ini.get("oslo_concurrency", "lock_path") == state + "/locks"
        assert ini.get("privsep", "helper_command").endswith(
            "--config-file %s/%s" % (plan.config_dir, L3_INI))

    def test_a_program_that_waits_for_the_integration_bridge(self, tmp_path):
        conf, plan, files = _rendered(tmp_path)
        assert ("control-plane", l3_agent.L3_AGENT) in control_plane.program_names(conf, plan)
        command = _ini(files[control_plane.PROGRAM_FILE]).get(
            "program:neutron-l3-agent", "command")
        assert "wait-for" in command and "--bridge br-int" in command
        assert command.endswith("neutron-l3-agent --config-file %s/%s"
                                % (plan.config_dir, L3_INI))

    def test_neutron_loads_the_router_service(self, tmp_path):
        files = _rendered(tmp_path)[2]
        neutron = _ini(files["conf/lab/neutron/neutron.conf"])
        assert neutron.get("DEFAULT", "service_plugins").split(",") == [
            "router", control_plane.NOVA_EVENTS_PLUGIN]

    def test_the_ovs_agent_maps_public_to_br_ex_and_waits_for_it(self, tmp_path):
        files = _rendered(tmp_path, "[ovs]\nbridge_mappings = other:br-other\n")[2]
        agent = _ini(files[rules.AGENT_CONF])
        assert agent.get("ovs", "bridge_mappings") == "other:br-other,public:br-ex"
        command = _agent_command(files)
        assert "--bridge br-other --bridge br-ex --" in command


class TestOff:
    def test_no_agent_no_router_service_no_mapping(self, tmp_path):
        conf, plan, files = _rendered(tmp_path, "l3_agent = false\n")
        assert L3_INI not in files
        assert l3_agent.L3_AGENT not in [n for _g, n in control_plane.program_names(conf, plan)]
        neutron = _ini(files["conf/lab/neutron/neutron.conf"])
        assert neutron.get("DEFAULT", "service_plugins") == control_plane.NOVA_EVENTS_PLUGIN
        assert not _ini(files[rules.AGENT_CONF]).has_option("ovs", "bridge_mappings")
        assert "--bridge" not in _agent_command(files)

    def test_a_box_without_the_lab_maps_only_what_it_is_told(self, tmp_path):
        _plan, files = render.render(confutils.load(tmp_path))
        assert not _ini(files[rules.AGENT_CONF]).has_option("ovs", "bridge_mappings")


class TestPublicCidr:
    def test_the_box_takes_the_first_address_and_the_pool_the_rest(self, tmp_path):
        plan = public_bridge.addressing(confutils.load(tmp_path))
        assert (str(plan.host), str(plan.pool_start), str(plan.pool_end)) == (
            "172.24.4.1", "172.24.4.2", "172.24.4.254")
        assert plan.host_interface == "172.24.4.1/24"

    @pytest.mark.parametrize("cidr, why", [
        ("172.24.4.1/24", "host bits"), ("10.77.0.0/16", "overlaps"),
        ("fd00::/64", "IPv4"), ("172.24.4.0/30", "/16 to /29")])
    def test_unusable_ranges_are_refused_naming_the_option(self, tmp_path, cidr, why):
        conf = confutils.load(tmp_path, "[lab]\nenabled = true\npublic_cidr = %s\n" % cidr)
        with pytest.raises(exception.ConfigInvalid, match=r"\[lab\] public_cidr"):
            hh_conf.check_lab(conf)

    def test_not_checked_without_the_l3_agent(self, tmp_path):
        conf = confutils.load(tmp_path, "[lab]\nl3_agent = false\npublic_cidr = 10.77.0.0/16\n")
        hh_conf.check_lab(conf)
        assert conf.lab.public_cidr == "10.77.0.0/16"
