"""The lab's rendered files: control-plane configuration and supervisord.d/control-plane.conf.

Everything listens on 127.0.0.1. Database connection strings live only in files the
control services read (``nova-db.conf``, ``neutron.conf``, ...): the nova-computes'
files come from ``hybridhost.render.nova`` and never see them.
"""

import os

from hybridhost import conf as hh_conf
from hybridhost import lab_state
from hybridhost import neutron_server
from hybridhost.render import ini
from hybridhost.render import keystone
from hybridhost.render import l3_agent
from hybridhost.render import messaging
from hybridhost.render import neutron
from hybridhost.render import supervisor as box_supervisor
from hybridhost.targeting import model as targeting_model

LAB_DIR = "conf/lab"
PROGRAM_FILE = "supervisord.d/control-plane.conf"
INFRA_GROUP = "lab-infra"
SERVICES_GROUP = "control-plane"
RABBIT_NODENAME = "hybridhost@localhost"
DATABASES = ("keystone", "placement", "glance", "nova_api", "nova", "nova_cell0", "neutron")
SBIN_MARIADBD = "/usr/sbin/mariadbd"
EPMD = "/usr/bin/epmd"
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
API_STARTSECS = 5
DHCP_AGENT = "neutron-dhcp-agent"
QUOTA_DRIVER = "neutron.db.quota.driver.DbQuotaDriver"
NOVA_EVENTS_PLUGIN = neutron_server.NOVA_EVENTS_ALIAS
#: Every service of the lab, and the box joining it, declares its queues durable: a
#: boot sent right after a RabbitMQ restart is no longer lost (render/messaging.py).
DURABLE_QUEUES = True
#: uWSGI refuses a chunk of a chunked upload above --chunked-input-limit (1 MiB, header
#: and CRLF included); glanceclient, which nova's snapshot upload uses, sends 1 MiB chunks.
GLANCE_UWSGI = ("--http-chunked-input", "--http-raw-body", "--http-auto-chunked",
                "--chunked-input-limit", 4 * 1024 * 1024)


def config_path(plan, name):
    return os.path.join(plan.config_dir, LAB_DIR, name)


def venv_root(plan):
    return os.path.dirname(plan.bin_dir.rstrip("/"))


def nova_paste_ini(plan):
    return os.path.join(venv_root(plan), "etc", "nova", "api-paste.ini")


def mysql_socket(conf):
    return os.path.join(conf.paths.run_root, "lab-mysqld.sock")


def db_user(database):
    """The MariaDB user of a database: nova's three databases share the nova user."""
    return "nova" if database.startswith("nova") else database


#: (module, PyPI package, why): what the rendered services import beyond their own
#: dependencies; 'hybridhost lab up' checks them before it changes anything.
PYTHON_NEEDS = (
    ("MySQLdb", "mysqlclient", "every service's database driver"),
)


def db_url(conf, secrets, database):
    # mysqlclient (C) rather than PyMySQL (pure Python): every service here runs native
    # threads (no eventlet), and the ORM-heavy requests of a boot (neutron's port create
    # and bind, nova-conductor, placement) spend much of their time decoding rows. The
    # services' CPU time (psutil) over the same 10 bench/boot.py boots: 54.2 s, against
    # 60.2 s with PyMySQL.
    user = db_user(database)
    return "mysql+mysqldb://%s:%s@127.0.0.1:%d/%s?charset=utf8" % (
        user, secrets["%s_db" % user], conf.lab.mysql_port, database)


def transport_url(conf, secrets):
    return "rabbit://%s:%s@127.0.0.1:%d/" % (lab_state.RABBIT_USER, secrets["rabbit"],
                                             conf.lab.rabbit_port)


def url(conf, service, path=""):
    return "http://127.0.0.1:%d%s" % (getattr(conf.lab, "%s_port" % service), path)


def auth_url(conf):
    return url(conf, "keystone", "/v3")


def _service_auth(conf, secrets, user):
    return keystone.password_auth(auth_url(conf), user, secrets[user], "service",
                                  conf.openstack.region_name)


def _authtoken(conf, secrets, user):
    return ("keystone_authtoken", [("www_authenticate_uri", url(conf, "keystone")),
                                   ("service_token_roles_required", True)]
            + _service_auth(conf, secrets, user))


def _lock(conf, service):
    return ("oslo_concurrency", [("lock_path", lab_state.layout(conf).path(service, "locks"))])


# --- the services' configuration files ----------------------------------------------


def render_my_cnf(conf, plan):
    lay = lab_state.layout(conf)
    return ini.render([
        ("mysqld", [
            ("user", "root"),
            ("datadir", lay.path("mysql")),
            ("socket", mysql_socket(conf)),
            ("pid-file", os.path.join(conf.paths.run_root, "lab-mysqld.pid")),
            ("port", conf.lab.mysql_port),
            ("bind-address", "127.0.0.1"),
            ("log-error", os.path.join(conf.paths.log_root, "mariadb.log")),
            ("skip-name-resolve", True),
            ("character-set-server", "utf8mb3"),
            ("collation-server", "utf8mb3_general_ci"),
            ("max_connections", 1000),
            ("innodb_buffer_pool_size", "128M"),
            ("innodb_log_file_size", "32M"),
            ("innodb_flush_log_at_trx_commit", 0),
            ("performance_schema", "OFF"),
        ]),
        ("client", [("socket", mysql_socket(conf)), ("user", "root")]),
    ], comment="MariaDB of the lab (own datadir; 127.0.0.1 only).")


def render_rabbitmq_conf(conf, secrets):
    # No listeners.tcp here: RABBITMQ_NODE_IP_ADDRESS/PORT set it (both crash: eaddrinuse).
    lines = [ini.HEADER,
             "loopback_users = none",
             "default_user = %s" % lab_state.RABBIT_USER,
             "default_pass = %s" % secrets["rabbit"],
             "default_vhost = /",
             "disk_free_limit.absolute = 50MB",
             "log.console = true",
             "log.console.level = warning",
             "log.file = false",
             ""]
    return "\n".join(lines)


def rabbitmq_environment(conf, plan):
    lay = lab_state.layout(conf)
    return [
        ("HOME", lay.path("rabbitmq")),
        ("RABBITMQ_NODENAME", RABBIT_NODENAME),
        ("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"),
        ("RABBITMQ_NODE_PORT", conf.lab.rabbit_port),
        ("RABBITMQ_DIST_PORT", conf.lab.rabbit_dist_port),
        ("ERL_EPMD_ADDRESS", "127.0.0.1"),
        ("ERL_EPMD_PORT", conf.lab.epmd_port),
        ("RABBITMQ_MNESIA_BASE", lay.path("rabbitmq", "mnesia")),
        ("RABBITMQ_LOG_BASE", os.path.join(conf.paths.log_root, "rabbitmq")),
        ("RABBITMQ_CONFIG_FILE", config_path(plan, "rabbitmq.conf")),
        ("RABBITMQ_ENABLED_PLUGINS_FILE", lay.path("rabbitmq", "enabled_plugins")),
        ("RABBITMQ_PID_FILE", os.path.join(conf.paths.run_root, "lab-rabbitmq.pid")),
        ("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}"),
    ]


def render_keystone(conf, plan, secrets):
    lay = lab_state.layout(conf)
    fernet = lay.path("keystone", "fernet-keys")
    return ini.render([
        ("DEFAULT", [("use_stderr", False)]),
        ("database", [("connection", db_url(conf, secrets, "keystone"))]),
        ("token", [("provider", "fernet")]),
        # Every service authenticates often on 2 cores; bcrypt's default 12 rounds
        # cost ~0.3 s each. The lab listens on 127.0.0.1 only.
        ("identity", [("password_hash_rounds", 4)]),
        ("fernet_tokens", [("key_repository", fernet)]),
        ("fernet_receipts", [("key_repository", fernet)]),
        ("credential", [("key_repository", lay.path("keystone", "credential-keys"))]),
        _lock(conf, "keystone"),
    ], comment="keystone of the lab.")


def render_placement(conf, plan, secrets):
    return ini.render([
        ("DEFAULT", [("use_stderr", False)]),
        ("api", [("auth_strategy", "keystone")]),
        ("placement_database", [("connection", db_url(conf, secrets, "placement"))]),
        _authtoken(conf, secrets, "placement"),
        _lock(conf, "placement"),
    ], comment="placement of the lab.")


def render_glance(conf, plan, secrets):
    lay = lab_state.layout(conf)
    return ini.render([
        ("DEFAULT", [
            ("use_stderr", False),
            ("enabled_backends", "fs:file"),
            ("worker_self_reference_url", url(conf, "glance")),
            ("show_image_direct_url", False),
        ]),
        ("glance_store", [("default_backend", "fs")]),
        ("fs", [("filesystem_store_datadir", lay.path("glance", "images"))]),
        ("os_glance_staging_store", [
            ("filesystem_store_datadir", lay.path("glance", "staging"))]),
        ("os_glance_tasks_store", [
            ("filesystem_store_datadir", lay.path("glance", "tasks"))]),
        ("database", [("connection", db_url(conf, secrets, "glance"))]),
        _authtoken(conf, secrets, "glance"),
        ("paste_deploy", [
            ("flavor", "keystone"),
            ("config_file", os.path.join(venv_root(plan), "etc", "glance",
                                         "glance-api-paste.ini"))]),
        _lock(conf, "glance"),
    ], comment="glance-api of the lab (file store).")


def render_nova(conf, plan, secrets):
    """nova.conf of the control services: no database strings (see nova-db.conf)."""
    lay = lab_state.layout(conf)
    return ini.render([
        ("DEFAULT", [
            ("transport_url", transport_url(conf, secrets)),
            ("my_ip", "127.0.0.1"),
            ("state_path", lay.path("nova")),
            ("use_stderr", False),
        ]),
        ("api", [("auth_strategy", "keystone")]),
        ("wsgi", [("api_paste_config", nova_paste_ini(plan))]),
        _authtoken(conf, secrets, "nova"),
        ("placement", _service_auth(conf, secrets, "nova")),
        ("neutron", _service_auth(conf, secrets, "nova")),
        ("glance", [("region_name", conf.openstack.region_name)]),
        ("scheduler", [
            # Maps the two nova-computes into cell1 as soon as they register.
            ("discover_hosts_in_cells_interval", 5),
            ("enable_isolated_aggregate_filtering", True),
            ("workers", 1),
        ]),
        # Both ways of hybridhost targeting work in the lab (traits and aggregates).
        ("filter_scheduler", [("enabled_filters", ",".join(targeting_model.ENABLED_FILTERS))]),
        ("conductor", [("workers", 1)]),
        messaging.rabbit_section(DURABLE_QUEUES),
        _lock(conf, "nova"),
    ], comment="nova-api, nova-conductor and nova-scheduler of the lab.")


def render_nova_db(conf, secrets):
    return ini.render([
        ("api_database", [("connection", db_url(conf, secrets, "nova_api"))]),
        ("database", [("connection", db_url(conf, secrets, "nova"))]),
    ], comment="Database connections of the nova control services only (never read by\n"
               "a nova-compute).")


def service_plugins(conf):
    """The router service with the L3 agent, and hybridhost's filter of nova's events
    (hybridhost.neutron_server.nova_events: no network-changed for nova's own port
    attach, which nova-compute would answer with a second network info refresh)."""
    return ",".join(filter(None, [l3_agent.service_plugins(conf), NOVA_EVENTS_PLUGIN]))


def render_neutron(conf, plan, secrets):
    lay = lab_state.layout(conf)
    return ini.render([
        ("DEFAULT", [
            ("core_plugin", "ml2"),
            ("service_plugins", service_plugins(conf)),
            ("auth_strategy", "keystone"),
            ("transport_url", transport_url(conf, secrets)),
            ("state_path", lay.path("neutron")),
            ("api_paste_config", os.path.join(venv_root(plan), "etc", "neutron",
                                              "api-paste.ini")),
            ("api_workers", 1),
            ("rpc_workers", 1),
            # Agents' state reports go to the one RPC worker: no dedicated process
            # (about 150 MB).
            ("rpc_state_report_workers", 0),
            ("notify_nova_on_port_status_changes", True),
            ("notify_nova_on_port_data_changes", True),
            ("dhcp_agents_per_network", 1),
            ("allow_automatic_dhcp_failover", False),
            # No casts to a DHCP agent that is not there (each port create and bind).
            ("dhcp_agent_notification", conf.lab.dhcp_agent),
            # network-vif-plugged reaches nova sooner (default: batched every 2 s).
            ("send_events_interval", 1),
            ("use_stderr", False),
        ]),
        ("database", [("connection", db_url(conf, secrets, "neutron"))]),
        _authtoken(conf, secrets, "neutron"),
        ("nova", _service_auth(conf, secrets, "neutron")),
        # The locking quota driver needs no periodic reservation clean-up: with it and
        # DHCP failover off, neutron-periodic-workers would only log dead agents (which
        # 'hybridhost lab status' shows), so the lab saves that process (~300 MB).
        ("QUOTAS", [("quota_driver", QUOTA_DRIVER)]),
        ("agent", [("root_helper", "env")]),
        messaging.rabbit_section(DURABLE_QUEUES),
        _lock(conf, "neutron"),
    ], comment="neutron API and RPC server of the lab.")


def render_ml2(conf):
    return ini.render([
        ("ml2", [
            ("type_drivers", "vxlan,flat"),
            ("tenant_network_types", "vxlan"),
            ("mechanism_drivers", "openvswitch"),
            ("extension_drivers", "port_security"),
        ]),
        ("ml2_type_vxlan", [("vni_ranges", "1:1000")]),
        ("ml2_type_flat", [("flat_networks", "*")]),
    ], comment="ML2: vxlan tenant networks bound by the box's one OVS agent.")


def render_dhcp_agent(conf, plan, secrets):
    """The DHCP agent's whole configuration (no database strings): it runs on the box."""
    lay = lab_state.layout(conf)
    ovs = conf.ovs
    return ini.render([
        ("DEFAULT", [
            # The OVS agent's host: neutron binds the DHCP port to that live agent.
            ("host", plan.agent.host),
            ("transport_url", transport_url(conf, secrets)),
            ("state_path", lay.path("neutron-dhcp")),
            ("interface_driver", "openvswitch"),
            # A veth pair, not an OVS internal port: the latter is a tap owned by the
            # userspace ovs-vswitchd and dies with it.
            ("ovs_use_veth", True),
            ("enable_isolated_metadata", False),
            ("dnsmasq_base_log_dir", os.path.join(conf.paths.log_root, "dnsmasq")),
            # A lost first sync is retried after this, not after the default 60 s.
            ("rpc_response_timeout", 20),
            ("use_stderr", False),
        ]),
        *neutron.namespace_agent_sections(ovs, plan, config_path(plan, "dhcp_agent.ini")),
        messaging.rabbit_section(DURABLE_QUEUES),
        _lock(conf, "neutron-dhcp"),
    ], comment="neutron-dhcp-agent of the lab (runs beside the box's OVS agent).")


def config_files(conf, plan, secrets):
    """``{relative path: text}`` of every lab configuration file."""
    rel = lambda name: "%s/%s" % (LAB_DIR, name)  # noqa: E731
    files = {
        rel("my.cnf"): render_my_cnf(conf, plan),
        rel("rabbitmq.conf"): render_rabbitmq_conf(conf, secrets),
        rel("keystone/keystone.conf"): render_keystone(conf, plan, secrets),
        rel("placement/placement.conf"): render_placement(conf, plan, secrets),
        rel("glance/glance-api.conf"): render_glance(conf, plan, secrets),
        rel("nova/nova.conf"): render_nova(conf, plan, secrets),
        rel("nova/nova-db.conf"): render_nova_db(conf, secrets),
        rel("neutron/neutron.conf"): render_neutron(conf, plan, secrets),
        rel("neutron/ml2_conf.ini"): render_ml2(conf),
    }
    if conf.lab.dhcp_agent:
        files[rel("dhcp_agent.ini")] = render_dhcp_agent(conf, plan, secrets)
    files.update(l3_agent.config_files(conf, plan, LAB_DIR, transport_url(conf, secrets)))
    return files


# --- supervisord.d/control-plane.conf ---------------------------------------------


#: One line per API request in the service's log: when it started (ms since the epoch),
#: how long it took, and what it was (bench/boot.py reads them). supervisord expands
#: ``%(name)s`` in a command line, so uwsgi's own ``%(var)`` are doubled.
REQUEST_LOG_PREFIX = "request"
REQUEST_LOG_FORMAT = REQUEST_LOG_PREFIX + " %(tmsecs) %(msecs)ms %(status) %(method) %(uri)"


def _uwsgi(conf, plan, port, module, extra=()):
    return box_supervisor.command_line(
        os.path.join(plan.bin_dir, "uwsgi"),
        "--http-socket", "127.0.0.1:%d" % port,
        "--module", module,
        "--virtualenv", venv_root(plan),
        "--master", "--processes", 1, "--threads", conf.lab.api_threads,
        "--enable-threads", "--need-app", "--die-on-term", "--lazy-apps",
        "--buffer-size", 65535,
        # Without it clients see "Connection reset by peer" on POST.
        "--add-header", "Connection: close",
        "--logformat", REQUEST_LOG_FORMAT.replace("%", "%%"), *extra)


_command = box_supervisor.command_line


def _infra_programs(conf, plan):
    return [
        ("mariadb", _command(SBIN_MARIADBD, "--defaults-file=%s" % config_path(plan, "my.cnf")),
         1, 3, ()),
        ("epmd", _command(EPMD, "-port", conf.lab.epmd_port, "-address", "127.0.0.1"), 2, 1, ()),
        ("rabbitmq", _command(RABBITMQ_SERVER), 3, 5,
         rabbitmq_environment(conf, plan)),
    ]


def _service_programs(conf, plan):
    lab, bindir = conf.lab, plan.bin_dir
    nova_dir, neutron_dir = config_path(plan, "nova"), config_path(plan, "neutron")
    nova_files = ("--config-file", os.path.join(nova_dir, "nova.conf"),
                  "--config-file", os.path.join(nova_dir, "nova-db.conf"))
    neutron_files = ("--config-file", os.path.join(neutron_dir, "neutron.conf"),
                     "--config-file", os.path.join(neutron_dir, "ml2_conf.ini"))
    ovsdb = ("--ovsdb", conf.ovs.ovsdb_connection)
    bridge = ("--bridge", conf.ovs.integration_bridge)
    wait_bridge = box_supervisor.wait_for_argv(conf, plan, [ovsdb, bridge])
    programs = [
        ("keystone", _uwsgi(conf, plan, lab.keystone_port, "keystone.wsgi.api:application"),
         5, API_STARTSECS, [("OS_KEYSTONE_CONFIG_DIR", config_path(plan, "keystone"))]),
        ("placement", _uwsgi(conf, plan, lab.placement_port, "placement.wsgi.api:application"),
         6, API_STARTSECS, [("OS_PLACEMENT_CONFIG_DIR", config_path(plan, "placement"))]),
        ("glance", _uwsgi(conf, plan, lab.glance_port, "glance.wsgi.api:application",
                          GLANCE_UWSGI),
         7, API_STARTSECS, [("OS_GLANCE_CONFIG_DIR", config_path(plan, "glance"))]),
        ("nova-api", _uwsgi(conf, plan, lab.nova_api_port,
                            "nova.wsgi.osapi_compute:application"),
         8, API_STARTSECS, [("OS_NOVA_CONFIG_DIR", nova_dir),
                            # api-paste.ini first; an absolute path is kept as it is.
                            ("OS_NOVA_CONFIG_FILES", "%s;nova.conf;nova-db.conf"
                             % nova_paste_ini(plan))]),
        ("nova-conductor", _command(os.path.join(bindir, "nova-conductor"), *nova_files),
         8, API_STARTSECS, ()),
        ("nova-scheduler", _command(os.path.join(bindir, "nova-scheduler"), *nova_files),
         8, API_STARTSECS, ()),
        ("neutron-api", _uwsgi(conf, plan, lab.neutron_port, "neutron.wsgi.api:application"),
         9, API_STARTSECS, [("OS_NEUTRON_CONFIG_DIR", neutron_dir),
                            ("OS_NEUTRON_CONFIG_FILES", "neutron.conf;ml2_conf.ini")]),
        ("neutron-rpc-server", _command(os.path.join(bindir, "neutron-rpc-server"),
                                        *neutron_files), 9, API_STARTSECS, ()),
    ]
    if conf.lab.dhcp_agent:
        programs.append((DHCP_AGENT, box_supervisor.command_line(
            *wait_bridge, os.path.join(bindir, "neutron-dhcp-agent"),
            "--config-file", config_path(plan, "dhcp_agent.ini")),
            21, box_supervisor.STARTSECS, ()))
    return programs + l3_agent.programs(conf, plan, LAB_DIR)


def _group(conf, group, priority, programs):
    sections = [("group:%s" % group, [
        ("programs", ",".join(name for name, *_ in programs)),
        ("priority", priority),
    ])]
    sections += [box_supervisor.program(conf, name, command, prio, startsecs, env)
                 for name, command, prio, startsecs, env in programs]
    return sections


def render_program_file(conf, plan):
    sections = (_group(conf, INFRA_GROUP, 1, _infra_programs(conf, plan))
                + _group(conf, SERVICES_GROUP, 5, _service_programs(conf, plan)))
    return ini.render(sections, comment=(
        "The lab's control plane (hybridhost lab up): MariaDB, RabbitMQ, keystone,\n"
        "placement, glance, nova and neutron on 127.0.0.1%s." % (
            ", and the DHCP agent" if conf.lab.dhcp_agent else "")))


def program_names(conf, plan):
    """``[(group, program)]`` of the lab, in start order."""
    return ([(INFRA_GROUP, p[0]) for p in _infra_programs(conf, plan)]
            + [(SERVICES_GROUP, p[0]) for p in _service_programs(conf, plan)])


def render(conf, plan):
    """Every lab file (for ``hybridhost.render.render`` when the lab is enabled)."""
    hh_conf.check_lab(conf)
    secrets = lab_state.load_secrets(conf)
    files = config_files(conf, plan, secrets)
    files[PROGRAM_FILE] = render_program_file(conf, plan)
    return files
