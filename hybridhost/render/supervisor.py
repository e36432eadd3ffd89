"""supervisord.conf and the supervisord.d/ program files.

supervisord has no dependencies between programs, so each dependent program's command
is wrapped in ``hybridhost wait-for``: it execs the real command once what it needs
answers (OVSDB, the integration bridge, the Docker engine, libvirt's socket).
"""

import os
import shlex

from hybridhost.render import ini

HOST_GROUP = "host-services"
BOX_GROUP = "hybridhost"
WATCHER = "hybridhost-watcher"
SBIN = "/usr/sbin"
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A dependent program waits at most this long per attempt, less than its startsecs, so
# that while what it needs is not ready supervisord shows it STARTING/BACKOFF (not
# RUNNING) and retries; startretries is sized to cover [supervisor] dependency_timeout.
WAIT_ATTEMPT_SECONDS = 3
STARTSECS = 8


def agent_command(ovs):
    """The file name of the OVS agent's command in bin_dir."""
    if ovs.agent_wakes_on_events:
        return "hybridhost-openvswitch-agent"
    return "neutron-openvswitch-agent"


def start_retries(dependency_timeout):
    """Fewest retries whose waits and supervisord back-offs (1 s, 2 s, ...) cover it."""
    retries, covered = 0, 0
    while covered < dependency_timeout:
        retries += 1
        covered += retries + WAIT_ATTEMPT_SECONDS
    return retries


def socket_path(plan_or_conf):
    return os.path.join(plan_or_conf.paths.run_root, "supervisor.sock")


def _listen_remote(connection):
    """OVSDB client connection -> ovsdb-server's passive remote."""
    kind, _, rest = connection.partition(":")
    if kind == "unix":
        return "punix:" + rest
    address, _, port = rest.rpartition(":")
    return "p%s:%s:%s" % (kind, port, address)


def _docker_socket(url):
    return url[len("unix://"):] if url.startswith("unix://") else None


def command_line(*argv):
    """A supervisord ``command`` from an argument list, each argument shell-quoted."""
    return " ".join(shlex.quote(str(arg)) for arg in argv)


def wait_for_argv(conf, plan, needs):
    argv = [os.path.join(plan.bin_dir, "hybridhost"), "wait-for",
            "--timeout", WAIT_ATTEMPT_SECONDS]
    for flag, value in needs:
        argv += [flag, value]
    return argv + ["--"]


def program(conf, name, command, priority, startsecs, environment=()):
    """One ``[program:NAME]`` section, with the stop and log policy every program shares."""
    log_root = conf.paths.log_root
    items = [
        ("command", command),
        ("priority", priority),
        ("autostart", True),
        ("autorestart", True),
        ("startsecs", startsecs),
        ("startretries", start_retries(conf.supervisor.dependency_timeout)),
        ("stopsignal", "TERM"),
        ("stopwaitsecs", conf.supervisor.stop_timeout),
        # nova and neutron fork helpers (privsep, dnsmasq, ovsdb clients): stop them all.
        ("stopasgroup", True),
        ("killasgroup", True),
        ("redirect_stderr", True),
        ("stdout_logfile", os.path.join(log_root, "%s.stdout.log" % name)),
        ("stdout_logfile_maxbytes", "20MB"),
        ("stdout_logfile_backups", 3),
    ]
    if environment:
        items.append(("environment", ",".join('%s="%s"' % pair for pair in environment)))
    return ("program:%s" % name, items)


def _host_programs(conf, plan):
    ovs, run_root = conf.ovs, conf.paths.run_root
    ovsdb = ("--ovsdb", ovs.ovsdb_connection)
    programs = {
        "ovsdb-server": (command_line(
            os.path.join(SBIN, "ovsdb-server"), ovs.db_file,
            "--remote=" + _listen_remote(ovs.ovsdb_connection),
            "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
            "--pidfile=%s" % os.path.join(ovs.run_dir, "ovsdb-server.pid"),
            "--unixctl=%s" % os.path.join(ovs.run_dir, "ovsdb-server.ctl")), 10, 2),
        "ovs-vswitchd": (command_line(*wait_for_argv(conf, plan, [ovsdb]),
                              os.path.join(SBIN, "ovs-vswitchd"), ovs.ovsdb_connection,
                              "--pidfile=%s" % os.path.join(ovs.run_dir, "ovs-vswitchd.pid"),
                              "--unixctl=%s" % os.path.join(ovs.run_dir, "ovs-vswitchd.ctl")),
                         11, STARTSECS),
        "dockerd": (command_line(
            os.path.join(SBIN, "dockerd"), "--host=" + conf.docker.url,
            "--data-root=" + conf.docker.data_root,
            "--exec-root=" + os.path.join(run_root, "docker"),
            "--pidfile=" + os.path.join(run_root, "dockerd.pid"),
            # Containers get neutron networking only; restarts of dockerd keep them.
            "--live-restore", "--iptables=false", "--ip-masq=false", "--bridge=none"),
            12, 3),
        "virtlogd": (command_line(os.path.join(SBIN, "virtlogd")), 13, 2),
        "libvirtd": (command_line(os.path.join(SBIN, "libvirtd"), "--config",
                          os.path.join(plan.config_dir, "conf", "libvirtd.conf")), 14, 3),
    }
    return [(name, programs[name]) for name in conf.host.managed_services]


def _box_programs(conf, plan):
    ovs = conf.ovs
    ovsdb = ("--ovsdb", ovs.ovsdb_connection)
    bridge = ("--bridge", ovs.integration_bridge)
    agent = plan.agent
    # The agent exits when a bridge of its bridge_mappings is missing.
    mapped = [("--bridge", mapping.split(":", 1)[1]) for mapping in ovs.bridge_mappings or []]
    docker_needs = [ovsdb, bridge, ("--docker", conf.docker.url)]
    kvm_needs = [ovsdb, bridge, ("--unix-socket", conf.libvirt.socket)]
    return [
        (agent.program, (command_line(*wait_for_argv(conf, plan, [ovsdb] + mapped),
                              os.path.join(plan.bin_dir, agent_command(ovs)),
                              "--config-file", agent.config_file), 20, STARTSECS)),
        (plan.docker.program, (command_line(*wait_for_argv(conf, plan, docker_needs),
                                    os.path.join(plan.bin_dir, "nova-compute"),
                                    "--config-file", plan.docker.config_file), 30, STARTSECS)),
        (plan.kvm.program, (command_line(*wait_for_argv(conf, plan, kvm_needs),
                                 os.path.join(plan.bin_dir, "nova-compute"),
                                 "--config-file", plan.kvm.config_file), 31, STARTSECS)),
    ]


def _group_file(conf, group, priority, programs, comment):
    sections = [("group:%s" % group, [
        ("programs", ",".join(name for name, _ in programs)),
        ("priority", priority),
    ])]
    sections += [program(conf, name, command, prio, startsecs)
                 for name, (command, prio, startsecs) in programs]
    return ini.render(sections, comment=comment)


def watcher_listener(conf, plan):
    """``[eventlistener:hybridhost-watcher]``: its stdout is supervisord's listener
    protocol, so only its stderr is logged (its own log is [watcher] log_file)."""
    return ("eventlistener:%s" % WATCHER, [
        ("command", command_line(os.path.join(plan.bin_dir, WATCHER), "--config-file",
                                 os.path.join(plan.config_dir, "conf", "watcher.conf"))),
        ("events", "TICK_5,PROCESS_STATE"),
        ("buffer_size", 100),
        ("priority", 40),
        ("autostart", True),
        ("autorestart", True),
        ("startsecs", 1),
        ("stopsignal", "TERM"),
        ("stopwaitsecs", 10),
        ("stderr_logfile", os.path.join(conf.paths.log_root, "%s.stderr.log" % WATCHER)),
        ("stderr_logfile_maxbytes", "20MB"),
        ("stderr_logfile_backups", 3),
    ])


def render_program_files(conf, plan):
    box = _group_file(conf, BOX_GROUP, 20, _box_programs(conf, plan),
                      "The box: two nova-computes and the ONE neutron OVS agent they share.")
    if conf.watcher.enabled:
        # supervisord groups hold programs only: the listener is its own pool.
        box += "\n" + ini.render([watcher_listener(conf, plan)]).split("\n", 3)[3]
    files = {"supervisord.d/hybridhost.conf": box}
    if conf.host.manage_services:
        files["supervisord.d/host-services.conf"] = _group_file(
            conf, HOST_GROUP, 10, _host_programs(conf, plan),
            "Host services, run here because the box has no init system for them.")
    return files


def render_supervisord(conf, plan):
    run_root, log_root = conf.paths.run_root, conf.paths.log_root
    sock = socket_path(conf)
    sections = [
        ("unix_http_server", [("file", sock), ("chmod", "0700")]),
    ]
    if conf.supervisor.inet_port:
        sections.append(("inet_http_server", [
            ("port", "127.0.0.1:%d" % conf.supervisor.inet_port),
            ("username", conf.supervisor.inet_username),
            ("password", conf.supervisor.inet_password),
        ]))
    sections += [
        ("supervisord", [
            ("identifier", "hybridhost-%s" % plan.box),
            ("logfile", os.path.join(log_root, "supervisord.log")),
            ("pidfile", os.path.join(run_root, "supervisord.pid")),
            ("childlogdir", log_root),
            ("nodaemon", False),
            ("minfds", 16384),
            ("environment", 'PATH="%s:%s",OVS_RUNDIR="%s"' % (
                plan.bin_dir, _SYSTEM_PATH, conf.ovs.run_dir)),
        ]),
        ("rpcinterface:supervisor", [
            ("supervisor.rpcinterface_factory", "supervisor.rpcinterface:make_main_rpcinterface"),
        ]),
        ("supervisorctl", [("serverurl", "unix://" + sock)]),
        ("include", [("files", os.path.join(plan.config_dir, "supervisord.d", "*.conf"))]),
    ]
    return ini.render(sections, comment="supervisord for box %s: control socket %s (mode 0700)."
                      % (plan.box, sock))


def render_libvirtd(conf, plan):
    """libvirtd.conf for a libvirtd hybridhost runs: root-only socket, no polkit."""
    lines = [ini.HEADER,
             'unix_sock_group = "root"',
             'unix_sock_ro_perms = "0700"',
             'unix_sock_rw_perms = "0700"',
             'auth_unix_ro = "none"',
             'auth_unix_rw = "none"',
             'listen_tls = 0',
             'listen_tcp = 0',
             'log_outputs = "3:file:%s"' % os.path.join(conf.paths.log_root, "libvirtd.log"),
             ""]
    return "\n".join(lines)
