"""Bootstrap the lab's control plane: databases, schemas, keystone, catalog, cells,
and its projects' quotas.

Every step is idempotent and leaves a stamp (``<state_dir>/stamps/<step>``) holding a
fingerprint of what it depends on (passwords, ports, versions), so a second
``hybridhost lab up`` skips work already done and only checks it.
"""

import concurrent.futures
import hashlib
import importlib.util
import json
import logging
import os
import sys
import time

from hybridhost import conf as hh_conf
from hybridhost import lab_state
from hybridhost import readiness
from hybridhost import runner
from hybridhost.lab import errors
from hybridhost.render import control_plane

LOG = logging.getLogger(__name__)

MARIADB_INSTALL_DB = "/usr/bin/mariadb-install-db"
MARIADB_CLIENT = "/usr/bin/mariadb"
SCHEMA_VERSION = "2026.2-1"
# keystone service name -> (type, port option, path after host:port)
SERVICES = {
    "keystone": ("identity", "keystone_port", "/v3"),
    "placement": ("placement", "placement_port", ""),
    "glance": ("image", "glance_port", ""),
    "nova": ("compute", "nova_api_port", "/v2.1"),
    "neutron": ("network", "neutron_port", ""),
}
INTERFACES = ("public", "internal", "admin")
LAST_SCHEMA_STEP = "schemas+cells"
# The projects the lab creates: admin (keystone bootstrap) and service (identity_setup).
LAB_PROJECTS = ("admin", "service")
UNLIMITED = -1


def require_python_packages():
    """Refuse before anything changes when this virtualenv (the services' too: [paths]
    bin_dir defaults to it) lacks a package the rendered services import."""
    for module, package, why in control_plane.PYTHON_NEEDS:
        if importlib.util.find_spec(module) is None:
            raise errors.LabPackageMissing(package=package, why=why, python=sys.executable)


def fingerprint(conf, secrets, *parts):
    data = json.dumps([SCHEMA_VERSION, secrets, hh_conf.lab_ports(conf),
                       conf.openstack.region_name, list(parts)], sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


# --- before supervisord starts the lab ------------------------------------------


def prepare_directories(conf):
    lay = lab_state.layout(conf)
    os.chmod(lay.root, lab_state.ROOT_MODE)
    for parts in (("mysql",), ("rabbitmq", "mnesia"), ("keystone", "locks"),
                  ("keystone", "fernet-keys"), ("keystone", "credential-keys"),
                  ("placement", "locks"), ("glance", "images"), ("glance", "staging"),
                  ("glance", "tasks"), ("glance", "locks"), ("nova", "locks"),
                  ("neutron", "locks"), ("neutron-dhcp", "locks"),
                  ("neutron-l3", "locks")):
        os.makedirs(lay.path(*parts), exist_ok=True)
    for path in (lay.path("keystone", "fernet-keys"), lay.path("keystone", "credential-keys")):
        os.chmod(path, 0o700)
    os.makedirs(os.path.join(conf.paths.log_root, "rabbitmq"), exist_ok=True)
    plugins = lay.path("rabbitmq", "enabled_plugins")
    if not os.path.exists(plugins):
        with open(plugins, "w") as handle:
            handle.write("[].\n")


def install_mariadb_datadir(conf):
    """Create MariaDB's system tables once; returns True when it did."""
    datadir = lab_state.layout(conf).path("mysql")
    if os.path.isdir(os.path.join(datadir, "mysql")):
        return False
    runner.run([MARIADB_INSTALL_DB, "--user=root", "--datadir=%s" % datadir,
                "--auth-root-authentication-method=socket", "--skip-test-db"], timeout=300)
    return True


# --- waiting for the lab's programs ------------------------------------------------


def wait_tcp(port, timeout, what):
    readiness.wait(lambda: readiness.tcp_port(port), timeout, what, interval=0.3)


def wait_http(url, timeout, what):
    readiness.wait(lambda: readiness.http(url), timeout, what)


# --- databases ------------------------------------------------------------------


def _sql(plan, statements, secrets):
    """Run SQL statements as MariaDB's root; on standard input, so the passwords in
    them stay off the command line."""
    runner.run([MARIADB_CLIENT, "--defaults-file=%s" % control_plane.config_path(plan, "my.cnf")],
               timeout=60, input_text="\n".join(statements) + "\n",
               secrets=list(secrets.values()))


def create_databases(conf, plan, secrets):
    statements = []
    for database in control_plane.DATABASES:
        statements.append("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8;" % database)
    for user in sorted({control_plane.db_user(d) for d in control_plane.DATABASES}):
        password = secrets["%s_db" % user]
        statements += [
            "CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY '%s';" % (user, password),
            "ALTER USER '%s'@'127.0.0.1' IDENTIFIED BY '%s';" % (user, password),
        ]
    for database in control_plane.DATABASES:
        statements.append("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'127.0.0.1';" % (
            database, control_plane.db_user(database)))
    _sql(plan, statements + ["FLUSH PRIVILEGES;"], secrets)


def _schema_commands(plan):
    bindir = plan.bin_dir
    cfg = lambda name: control_plane.config_path(plan, name)  # noqa: E731
    nova_files = ["--config-file", cfg("nova/nova.conf"), "--config-file", cfg("nova/nova-db.conf")]
    return {
        "keystone": [[os.path.join(bindir, "keystone-manage"), "--config-file",
                      cfg("keystone/keystone.conf"), "db_sync"]],
        "placement": [[os.path.join(bindir, "placement-manage"), "--config-file",
                       cfg("placement/placement.conf"), "db", "sync"]],
        "glance": [[os.path.join(bindir, "glance-manage"), "--config-file",
                    cfg("glance/glance-api.conf"), "db_sync"]],
        "nova": [[os.path.join(bindir, "nova-manage")] + nova_files + ["api_db", "sync"]],
        "neutron": [[os.path.join(bindir, "neutron-db-manage"), "--config-file",
                     cfg("neutron/neutron.conf"), "--config-file", cfg("neutron/ml2_conf.ini"),
                     "upgrade", "heads"]],
    }


def sync_schemas(conf, plan, secrets):
    """Every service's schema, three at a time; nova's chain ends with its cells."""
    commands = _schema_commands(plan)

    def run_all(name, argvs):
        for argv in argvs:
            runner.run(argv)
        if name == "nova":
            setup_cells(conf, plan, secrets)

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        # nova's chain is the longest: start it first.
        futures = [pool.submit(run_all, name, commands[name])
                   for name in sorted(commands, key=lambda n: n != "nova")]
        for future in concurrent.futures.as_completed(futures):
            future.result()


def _nova_manage(plan, *argv, secrets=()):
    return runner.run([os.path.join(plan.bin_dir, "nova-manage"),
                       "--config-file", control_plane.config_path(plan, "nova/nova.conf"),
                       "--config-file", control_plane.config_path(plan, "nova/nova-db.conf")]
                      + list(argv), secrets=secrets)


def setup_cells(conf, plan, secrets):
    """cell0 and cell1, then cell1's schema (nova-manage's own checks make it idempotent)."""
    hidden = list(secrets.values())
    cells = _nova_manage(plan, "cell_v2", "list_cells", "--verbose", secrets=hidden)
    if " cell0 " not in cells:
        # Without --database_connection (a password on the command line), nova-manage
        # derives cell0's from [database] connection in nova-db.conf: the nova database's
        # URL with '_cell0' appended, which is db_url(..., "nova_cell0").
        _nova_manage(plan, "cell_v2", "map_cell0", secrets=hidden)
    if " cell1 " not in cells:
        _nova_manage(plan, "cell_v2", "create_cell", "--name", "cell1", "--verbose")
    _nova_manage(plan, "db", "sync")


# --- keystone ---------------------------------------------------------------------


def _keystone_manage(plan, *argv, secret_env=None):
    return runner.run([os.path.join(plan.bin_dir, "keystone-manage"), "--config-file",
                       control_plane.config_path(plan, "keystone/keystone.conf")] + list(argv),
                      secret_env=secret_env)


def keystone_keys(plan, conf):
    lay = lab_state.layout(conf)
    if not os.listdir(lay.path("keystone", "fernet-keys")):
        _keystone_manage(plan, "fernet_setup", "--keystone-user", "root",
                         "--keystone-group", "root")
    if not os.listdir(lay.path("keystone", "credential-keys")):
        _keystone_manage(plan, "credential_setup", "--keystone-user", "root",
                         "--keystone-group", "root")


def keystone_bootstrap(conf, plan, secrets):
    identity = control_plane.auth_url(conf)
    # keystone-manage reads the password from OS_BOOTSTRAP_PASSWORD when the option is
    # not given: the environment of a process is readable by its owner only, its argv by all.
    _keystone_manage(plan, "bootstrap",
                     "--bootstrap-admin-url", identity, "--bootstrap-internal-url", identity,
                     "--bootstrap-public-url", identity,
                     "--bootstrap-region-id", conf.openstack.region_name,
                     secret_env={"OS_BOOTSTRAP_PASSWORD": secrets["admin"]})


def admin_connection(conf, secrets):
    import openstack

    return openstack.connect(
        auth_url=control_plane.auth_url(conf), username="admin", password=secrets["admin"],
        project_name="admin", user_domain_name="Default", project_domain_name="Default",
        region_name=conf.openstack.region_name, interface="public",
        identity_api_version="3", load_yaml_config=False, load_envvars=False)


def _ensure_service_and_endpoints(conn, conf, name):
    kind, port_option, path = SERVICES[name]
    service = conn.identity.find_service(name) or conn.identity.create_service(
        name=name, type=kind, description="%s of the hybridhost lab" % name)
    url = "http://127.0.0.1:%d%s" % (getattr(conf.lab, port_option), path)
    existing = {e.interface: e for e in conn.identity.endpoints(service_id=service.id)}
    for interface in INTERFACES:
        endpoint = existing.get(interface)
        if endpoint is None:
            conn.identity.create_endpoint(service_id=service.id, interface=interface,
                                          url=url, region_id=conf.openstack.region_name)
        elif endpoint.url != url:
            conn.identity.update_endpoint(endpoint, url=url)


def _ensure_user(conn, project, admin_role, name, password):
    user = conn.identity.find_user(name, domain_id="default")
    if user is None:
        user = conn.identity.create_user(name=name, password=password, domain_id="default",
                                         default_project_id=project.id)
    else:
        conn.identity.update_user(user, password=password)
    conn.identity.assign_project_role_to_user(project, user, admin_role)


def identity_setup(conf, secrets):
    """The service project, one admin user per service, every service and endpoint."""
    conn = admin_connection(conf, secrets)
    project = conn.identity.find_project("service", domain_id="default") or \
        conn.identity.create_project(name="service", domain_id="default",
                                     description="hybridhost lab services")
    admin_role = conn.identity.find_role("admin")
    for role in ("service", "member", "reader"):
        if conn.identity.find_role(role) is None:
            conn.identity.create_role(name=role)
    service_role = conn.identity.find_role("service")
    for user in lab_state.SERVICE_USERS:
        _ensure_user(conn, project, admin_role, user, secrets[user])
        conn.identity.assign_project_role_to_user(
            project, conn.identity.find_user(user, domain_id="default"), service_role)
    for name in SERVICES:
        _ensure_service_and_endpoints(conn, conf, name)
    conn.close()


# --- quotas -----------------------------------------------------------------------


def project_quotas(plan):
    """``{"compute": {...}, "network": {...}}``: quotas no smaller than what both sides
    can hold in placement (each side's share times its ratios; every instance takes at
    least one vCPU), so the quota is never the first limit.

    Ports are unlimited: placement already bounds the instances, and with a port limit
    nova-api lists every port of the project to count them at each boot (its
    ``validate_networks``), which costs neutron about 0.2 s at 100 ports, growing with
    the box's density."""
    ceiling = plan.docker.share.times(plan.docker.ratios) + \
        plan.kvm.share.times(plan.kvm.ratios)
    return {"compute": {"instances": ceiling.vcpus, "cores": ceiling.vcpus,
                        "ram": ceiling.memory_mb},
            "network": {"ports": UNLIMITED}}


def _raised(current, wanted):
    """The quotas in ``wanted`` that ``current`` holds lower (unlimited is never lower)."""
    return {name: value for name, value in wanted.items()
            if _lower(getattr(current, name), value)}


def _lower(current, wanted):
    if current in (None, UNLIMITED):
        return False
    return wanted == UNLIMITED or current < wanted


def ensure_quotas(conn, plan):
    """Raise the lab projects' nova and neutron quotas to ``project_quotas(plan)``; never
    lowers one. Returns ``{project: {quota: value}}`` of what it raised."""
    wanted = project_quotas(plan)
    raised = {}
    for name in LAB_PROJECTS:
        project = conn.identity.find_project(name, domain_id="default")
        if project is None:
            continue
        compute = _raised(conn.compute.get_quota_set(project), wanted["compute"])
        if compute:
            conn.compute.update_quota_set(project, **compute)
        network = _raised(conn.network.get_quota(project.id), wanted["network"])
        if network:
            conn.network.update_quota(project.id, **network)
        if compute or network:
            raised[name] = dict(compute, **network)
    return raised


# --- the whole sequence -----------------------------------------------------------


def _step(conf, secrets, name, func, report, *parts):
    stamp = fingerprint(conf, secrets, name, *parts)
    if lab_state.stamp_matches(conf, name, stamp):
        return False
    started = time.monotonic()
    func()
    lab_state.stamp_done(conf, name, stamp)
    report("%s done in %.1fs" % (name, time.monotonic() - started))
    return True


def run(conf, plan, secrets, report):
    """Bootstrap what is not done yet; returns True when anything changed.

    ``report(message)`` is called after each step that did work.
    """
    changed = False
    wait_tcp(conf.lab.mysql_port, 120, "MariaDB on 127.0.0.1:%d" % conf.lab.mysql_port)
    changed |= _step(conf, secrets, "databases", lambda: create_databases(
        conf, plan, secrets), report)
    changed |= _step(conf, secrets, "keystone-keys", lambda: keystone_keys(plan, conf), report)
    changed |= _step(conf, secrets, LAST_SCHEMA_STEP, lambda: sync_schemas(
        conf, plan, secrets), report)
    changed |= _step(conf, secrets, "keystone-bootstrap", lambda: keystone_bootstrap(
        conf, plan, secrets), report)
    return changed


def schemas_done(conf, secrets):
    return lab_state.stamp_matches(conf, LAST_SCHEMA_STEP,
                                   fingerprint(conf, secrets, LAST_SCHEMA_STEP))


def identity(conf, secrets, report):
    """Users, services and endpoints (needs the keystone API up)."""
    wait_http(control_plane.url(conf, "keystone", "/v3"), 120, "keystone")
    try:
        return _step(conf, secrets, "identity", lambda: identity_setup(conf, secrets), report)
    except errors.api_errors() as err:
        raise errors.LabApiFailed(service="keystone", doing="creating users and endpoints",
                                  reason=str(err).strip().splitlines()[0]) from err


def quotas_line(plan, raised):
    wanted = project_quotas(plan)
    return "quotas of %s at least instances %d, cores %d, ram %d MiB, ports unlimited (%s)" % (
        ", ".join(LAB_PROJECTS), wanted["compute"]["instances"],
        wanted["compute"]["cores"], wanted["compute"]["ram"],
        "raised in %s" % ", ".join(sorted(raised)) if raised else "unchanged")
