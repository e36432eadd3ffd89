"""The lab's rendered files: loopback only, DB strings kept from nova-compute, one agent."""

import configparser
import re

import pytest

from hybridhost import lab_state
from hybridhost import render
from hybridhost.render import control_plane
from hybridhost.render import nova
from tests.unit import confutils

DETECTED = None


def _ini(text):
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    return parser


def _rendered(tmp_path, extra=""):
    conf = confutils.load(tmp_path, "[lab]\nenabled = true\n" + extra)
    secrets, _ = lab_state.ensure_secrets(conf)
    plan, files = render.render(conf)
    return conf, plan, files, secrets


@pytest.fixture
def lab(tmp_path):
    return _rendered(tmp_path)


@pytest.fixture
def lab_dhcp(tmp_path):
    """The lab with [lab] dhcp_agent = true."""
    return _rendered(tmp_path, "dhcp_agent = true\n")


class TestWhenRendered:
    def test_no_lab_files_before_lab_up(self, tmp_path):
        _plan, files = render.render(confutils.load(tmp_path))
        assert not [rel for rel in files if "lab" in rel or "control-plane" in rel]

    def test_lab_files_join_the_box_when_enabled(self, lab):
        _conf, _plan, files, _secrets = lab
        assert control_plane.PROGRAM_FILE in files
        for name in ("my.cnf", "rabbitmq.conf", "keystone/keystone.conf",
                     "placement/placement.conf", "glance/glance-api.conf", "nova/nova.conf",
                     "nova/nova-db.conf", "neutron/neutron.conf", "neutron/ml2_conf.ini"):
            assert "conf/lab/%s" % name in files

    def test_deterministic(self, lab):
        conf, _plan, files, _secrets = lab
        assert render.render(conf)[1] == files


class TestSecretsStayWhereTheyBelong:
    def test_nova_computes_never_see_database_strings(self, lab):
        _conf, _plan, files, _secrets = lab
        for rel in ("conf/nova-docker.conf", "conf/nova-kvm.conf"):
            parsed = _ini(files[rel])
            assert not parsed.has_section("database")
            assert not parsed.has_section("api_database")
            assert "mysql" not in files[rel]

    def test_control_nova_conf_has_no_db_and_nova_db_conf_has_both(self, lab):
        _conf, _plan, files, _secrets = lab
        assert "mysql" not in files["conf/lab/nova/nova.conf"]
        db = _ini(files["conf/lab/nova/nova-db.conf"])
        assert db.get("api_database", "connection").endswith("/nova_api?charset=utf8")
        assert db.get("database", "connection").endswith("/nova?charset=utf8")

    def test_every_service_reaches_mariadb_through_mysqlclient_on_loopback(self, lab):
        _conf, _plan, files, _secrets = lab
        urls = [line.split(" = ", 1)[1] for text in files.values()
                for line in text.splitlines() if line.startswith("connection = ")]
        assert len(urls) == 6  # keystone, glance, placement, neutron, nova_api, nova
        for url in urls:
            assert url.startswith("mysql+mysqldb://")
            assert "@127.0.0.1:" in url

    def test_dhcp_agent_config_has_no_database(self, lab_dhcp):
        assert "mysql" not in lab_dhcp[2]["conf/lab/dhcp_agent.ini"]

    def test_computes_and_agent_join_the_lab_with_its_generated_passwords(self, lab):
        conf, _plan, files, secrets = lab
        kvm = _ini(files["conf/nova-kvm.conf"])
        agent = _ini(files["conf/neutron-openvswitch-agent.conf"])
        url = "rabbit://openstack:%s@127.0.0.1:5672/" % secrets["rabbit"]
        assert kvm.get("DEFAULT", "transport_url") == url
        assert agent.get("DEFAULT", "transport_url") == url
        assert kvm.get("placement", "password") == secrets["nova"]
        assert kvm.get("placement", "auth_url") == "http://127.0.0.1:5000/v3"


class TestLoopbackOnly:
    def test_every_api_binds_127_0_0_1(self, lab):
        program_file = lab[2][control_plane.PROGRAM_FILE]
        sockets = re.findall(r"--http-socket (\S+)", program_file)
        assert len(sockets) == 5
        assert all(s.startswith("127.0.0.1:") for s in sockets)

    def test_mariadb_and_rabbitmq_bind_loopback(self, lab):
        conf, plan, files, _secrets = lab
        assert _ini(files["conf/lab/my.cnf"]).get("mysqld", "bind-address") == "127.0.0.1"
        env = dict(control_plane.rabbitmq_environment(conf, plan))
        assert env["RABBITMQ_NODE_IP_ADDRESS"] == "127.0.0.1"
        assert env["ERL_EPMD_ADDRESS"] == "127.0.0.1"
        assert "{127,0,0,1}" in env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
        assert "-address 127.0.0.1" in files[control_plane.PROGRAM_FILE]

    def test_rabbitmq_conf_sets_no_tcp_listener(self, lab):
        text = lab[2]["conf/lab/rabbitmq.conf"]
        assert "listeners.tcp" not in text and "loopback_users = none" in text


class TestMessaging:
    def test_every_service_of_the_lab_and_the_box_has_durable_queues(self, lab_dhcp):
        """So that a boot sent right after a RabbitMQ restart waits in nova-conductor's
        queue until the conductor is back, instead of being dropped."""
        files = lab_dhcp[2]
        rendered = ["conf/lab/nova/nova.conf", "conf/lab/neutron/neutron.conf",
                    "conf/lab/dhcp_agent.ini", "conf/lab/l3_agent.ini", "conf/nova-docker.conf",
                    "conf/nova-kvm.conf",
                    "conf/neutron-openvswitch-agent.conf"]
        for rel in rendered:
            parser = _ini(files[rel])
            assert parser.get("oslo_messaging_rabbit", "amqp_durable_queues") == "true", rel
        transports = {rel for rel, text in files.items() if "transport_url" in text}
        assert transports == set(rendered) | {"conf/watcher.conf"}


class TestGlance:
    def test_uwsgi_takes_the_chunks_of_novas_snapshot_upload(self, lab):
        """nova uploads a snapshot through glanceclient in chunks of its CHUNKSIZE; uWSGI
        refuses (HTTP 500, "unable to receive chunked part") a chunk whose framing does
        not fit in --chunked-input-limit, 1 MiB by default."""
        from glanceclient.common import http as glance_http

        glance = _ini(lab[2][control_plane.PROGRAM_FILE]).get("program:glance", "command")
        limit = int(re.search(r"--chunked-input-limit (\d+)", glance).group(1))
        framing = len(b"%X\r\n\r\n" % glance_http.CHUNKSIZE)
        assert limit >= glance_http.CHUNKSIZE + framing


class TestNeutron:
    def test_no_dhcp_agent_by_default_and_vms_get_a_config_drive(self, lab):
        conf, plan, files, _secrets = lab
        assert "conf/lab/dhcp_agent.ini" not in files
        programs = [name for _group, name in control_plane.program_names(conf, plan)]
        assert control_plane.DHCP_AGENT not in programs
        neutron = _ini(files["conf/lab/neutron/neutron.conf"])
        assert neutron.get("DEFAULT", "dhcp_agent_notification") == "false"
        assert _ini(files["conf/nova-kvm.conf"]).get("DEFAULT", "force_config_drive") == "true"
        assert not _ini(files["conf/nova-docker.conf"]).has_option(
            "DEFAULT", "force_config_drive")

    def test_no_periodic_workers_process_and_a_quota_driver_that_needs_none(self, lab):
        conf, plan, files, _secrets = lab
        names = [n for _g, n in control_plane.program_names(conf, plan)]
        assert [n for n in names if "neutron" in n] == ["neutron-api", "neutron-rpc-server",
                                                        "neutron-l3-agent"]
        neutron = _ini(files["conf/lab/neutron/neutron.conf"])
        assert neutron.get("QUOTAS", "quota_driver") == "neutron.db.quota.driver.DbQuotaDriver"
        assert neutron.get("DEFAULT", "allow_automatic_dhcp_failover") == "false"

    def test_dhcp_agent_runs_as_the_one_agents_host_with_veth(self, lab_dhcp):
        _conf, plan, files, _secrets = lab_dhcp
        assert _ini(files["conf/lab/neutron/neutron.conf"]).get(
            "DEFAULT", "dhcp_agent_notification") == "true"
        dhcp = _ini(files["conf/lab/dhcp_agent.ini"])
        assert dhcp.get("DEFAULT", "host") == plan.agent.host
        assert dhcp.get("DEFAULT", "ovs_use_veth") == "true"
        assert dhcp.get("DEFAULT", "interface_driver") == "openvswitch"
        assert dhcp.get("agent", "root_helper") == "env"

    def test_vxlan_tenant_networks_bound_by_openvswitch(self, lab):
        ml2 = _ini(lab[2]["conf/lab/neutron/ml2_conf.ini"])
        assert ml2.get("ml2", "tenant_network_types") == "vxlan"
        assert ml2.get("ml2", "mechanism_drivers") == "openvswitch"

    def test_exactly_one_ovs_agent_program_on_the_box(self, lab):
        programs = "".join(text for rel, text in lab[2].items()
                           if rel.startswith("supervisord.d/"))
        agents = re.findall(r"/(?:hybridhost|neutron)-openvswitch-agent --config-file", programs)
        assert agents == ["/hybridhost-openvswitch-agent --config-file"]


class TestPrograms:
    def test_groups_and_every_program_stops_its_whole_group(self, lab):
        conf, plan, files, _secrets = lab
        parsed = _ini(files[control_plane.PROGRAM_FILE])
        names = [name for _group, name in control_plane.program_names(conf, plan)]
        assert parsed.get("group:lab-infra", "programs") == "mariadb,epmd,rabbitmq"
        for name in names:
            section = "program:%s" % name
            assert parsed.get(section, "killasgroup") == "true"
            assert parsed.get(section, "stopwaitsecs") == str(conf.supervisor.stop_timeout)

    def test_nova_api_reads_paste_first_then_both_nova_files(self, lab):
        parsed = _ini(lab[2][control_plane.PROGRAM_FILE])
        env = parsed.get("program:nova-api", "environment")
        assert re.search(r'OS_NOVA_CONFIG_FILES="/venv/etc/nova/api-paste.ini;nova.conf;'
                         r'nova-db.conf"', env)

    def test_scheduler_maps_new_computes_into_cell1(self, lab):
        nova_conf = _ini(lab[2]["conf/lab/nova/nova.conf"])
        assert nova_conf.get("scheduler", "discover_hosts_in_cells_interval") == "5"

    def test_dhcp_agent_waits_for_the_integration_bridge(self, lab_dhcp):
        parsed = _ini(lab_dhcp[2][control_plane.PROGRAM_FILE])
        command = parsed.get("program:neutron-dhcp-agent", "command")
        assert "wait-for" in command and "--bridge br-int" in command


class TestKvmTrait:
    def test_kvm_side_gets_the_provider_config_with_its_trait(self, lab):
        _conf, plan, files, _secrets = lab
        import yaml

        kvm = _ini(files["conf/nova-kvm.conf"])
        location = kvm.get("compute", "provider_config_location")
        assert location == plan.config_dir + "/conf/provider-config-kvm"
        data = yaml.safe_load(files[nova.KVM_PROVIDER_CONFIG])
        provider = data["providers"][0]
        assert provider["identification"]["name"] == "$COMPUTE_NODE"
        assert provider["traits"]["additional"] == ["CUSTOM_HV_KVM"]
        assert not _ini(files["conf/nova-docker.conf"]).has_section("compute")


class TestLabScheduler:
    def test_both_targeting_ways_are_switched_on(self, lab):
        """The lines 'hybridhost targeting apply' asks other clouds to set, set here."""
        from hybridhost.targeting import model

        nova_conf = _ini(lab[2]["conf/lab/nova/nova.conf"])
        filters = nova_conf.get("filter_scheduler", "enabled_filters").split(",")
        assert "AggregateInstanceExtraSpecsFilter" in filters
        assert nova_conf.getboolean("scheduler", "enable_isolated_aggregate_filtering")
        for line in model.SCHEDULER_SETTINGS:
            section, _, rest = line.partition("] ")
            option, _, value = rest.partition(" = ")
            assert nova_conf.get(section.lstrip("["), option).lower() == value.lower()

    def test_agent_state_reports_go_to_the_one_rpc_worker(self, lab):
        neutron = _ini(lab[2]["conf/lab/neutron/neutron.conf"])
        assert neutron.get("DEFAULT", "rpc_workers") == "1"
        assert neutron.get("DEFAULT", "rpc_state_report_workers") == "0"


class TestApiRequestLog:
    def test_every_api_logs_its_requests_with_their_time_through_supervisord(self, lab):
        """supervisord expands ``%(name)s`` in a command: what uwsgi gets, once expanded
        as supervisord does, is the request log format itself (bench/boot.py reads it)."""
        import shlex

        from supervisor import options

        programs = _ini(lab[2][control_plane.PROGRAM_FILE])
        apis = [section for section in programs.sections()
                if "uwsgi" in programs.get(section, "command", fallback="")]
        assert len(apis) == 5, apis
        for section in apis:
            argv = shlex.split(options.expand(programs.get(section, "command"),
                                              {"here": "/etc"}, "command"))
            assert "--disable-logging" not in argv, section
            assert argv[argv.index("--logformat") + 1] == control_plane.REQUEST_LOG_FORMAT
