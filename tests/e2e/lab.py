"""Access to a running lab for the end-to-end tests and bench/boot.py.

The lab is the one ``hybridhost lab up`` made from ``$HYBRIDHOST_CONFIG`` (default
/etc/hybridhost/hybridhost.conf). When it is not up the tests are skipped with the
reason, except with CI=true, where they fail.
"""

import dataclasses
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from hybridhost import box
from hybridhost import conf as hh_conf
from hybridhost import exception
from hybridhost import lab_state
from hybridhost import plan as box_plan
from hybridhost import readiness
from hybridhost.lab import bootstrap
from hybridhost.lab import demo
from hybridhost.render import control_plane

CONFIG = os.environ.get("HYBRIDHOST_CONFIG", hh_conf.DEFAULT_CONFIG_FILE)
SERVER_TIMEOUT = 240
#: How much of each log a failure message quotes about a port.
LOGGED_LINES, LOGGED_WIDTH = 4, 320
REQUEST_CONTEXT = re.compile(r"\[(None )?req-[^\]]*\] ")


@dataclasses.dataclass
class Lab:
    conf: object
    plan: object
    conn: object

    def docker(self):
        import docker

        return docker.DockerClient(base_url=self.conf.docker.url, timeout=60)

    def ovsdb(self, table, where, columns):
        from hybridhost import readiness

        result = readiness.ovsdb_request(self.conf.ovs.ovsdb_connection, "transact", [
            "Open_vSwitch", {"op": "select", "table": table, "where": where,
                             "columns": columns}])
        return result[0].get("rows", [])


def why_not_up(config=CONFIG):
    """None when a lab answers, else the reason (for the skip or CI failure)."""
    if not os.path.exists(config):
        return "no %s (set HYBRIDHOST_CONFIG or run tools/up)" % config
    conf = hh_conf.load(["--config-file", config], default_config_files=[])
    if not lab_state.exists(conf):
        return "no lab for %s: run 'hybridhost lab up'" % config
    try:
        urllib.request.urlopen(control_plane.url(conf, "keystone", "/v3"), timeout=5).close()
    except urllib.error.HTTPError:
        pass
    except OSError as err:
        return "the lab's keystone does not answer (%s): run 'hybridhost lab up'" % err
    return None


def connect(config=CONFIG):
    conf = hh_conf.load(["--config-file", config], default_config_files=[])
    secrets = lab_state.load_secrets(conf)
    return Lab(conf=conf, plan=box_plan.build(conf),
               conn=bootstrap.admin_connection(conf, secrets))


def log_size(path):
    """Where a test starts reading ``path`` (a service's log) from: its size now."""
    return os.path.getsize(path) if os.path.exists(path) else 0


def log_since(path, offset):
    """What ``path`` (a service's log) got since ``offset`` (from :func:`log_size`)."""
    with open(path, errors="replace") as handle:
        handle.seek(offset)
        return handle.read()


def wait_active(conn, server, timeout=SERVER_TIMEOUT, interval=0.2):
    """The server once it is ACTIVE; AssertionError when it goes to ERROR, or when it is
    not ACTIVE after ``timeout`` (with its task state and its ports' status)."""
    found = {}

    def active():
        found["server"] = conn.compute.get_server(server.id)
        status = found["server"].status
        if status == "ERROR":
            raise AssertionError("server %s ERROR: %s" % (server.id, found["server"].fault))
        return None if status == "ACTIVE" else "still %s" % status

    try:
        readiness.wait(active, timeout, "server %s ACTIVE" % server.id, interval=interval)
    except exception.DependencyNotReady as err:
        raise AssertionError("%s\n%s" % (err, _build_state(conn, found["server"]))) from err
    return found["server"]


def _build_state(conn, server):
    """Where a server that is not ACTIVE is: nova's task state, its ports' status."""
    ports = ["port %s %s on %s" % (port.id, port.status, port.binding_host_id)
             for port in conn.network.ports(device_id=server.id)]
    return "task_state %s, power_state %s; %s" % (
        server.task_state, server.power_state, "; ".join(ports) or "no port")


def wait_error(conn, server, timeout=SERVER_TIMEOUT):
    """The server once it is ERROR (the fault tests); AssertionError if it becomes ACTIVE,
    DependencyNotReady after ``timeout``."""
    found = {}

    def failed():
        found["server"] = conn.compute.get_server(server.id)
        status = found["server"].status
        assert status != "ACTIVE", "server %s became ACTIVE" % server.id
        return None if status == "ERROR" else "still %s" % status

    readiness.wait(failed, timeout, "server %s ERROR" % server.id, interval=1)
    return found["server"]


def program(lab, full_name):
    """The box's supervisord program ``full_name`` (``group:name``) as supervisord has it
    now."""
    return next(p for p in box.client_for(lab.conf).programs() if p.full_name == full_name)


def fixed_ip(server):
    for addresses in server.addresses.values():
        for address in addresses:
            if address.get("version") == 4:
                return address["addr"]
    raise AssertionError("server %s has no IPv4 address" % server.id)


def wiring(lab, address):
    """How the port holding ``address`` is wired, for a failure message: its neutron
    status and host; its OVS port's name, OpenFlow port, error and VLAN tag (none: the
    agent never wired it; 4095: cut off by the agent); then the last lines the OVS agent
    and the Docker side's nova-compute logged of it."""
    ports = list(lab.conn.network.ports(fixed_ips="ip_address=%s" % address))
    if not ports:
        return "%s: no neutron port" % address
    port = ports[0]
    rows = lab.ovsdb("Interface", [["external_ids", "includes",
                                    ["map", [["iface-id", port.id]]]]],
                     ["name", "ofport", "error"])
    switch = ["%s ofport %s error %s tag %s" % (
        row["name"], row["ofport"], row["error"],
        [r["tag"] for r in lab.ovsdb("Port", [["name", "==", row["name"]]], ["tag"])])
        for row in rows]
    logged = [line for path in (lab.plan.agent.log_file, lab.plan.docker.log_file)
              for line in log_lines_naming(path, port.id)]
    return "\n".join(["%s: port %s %s on %s, OVS %s" % (
        address, port.id, port.status, port.binding_host_id, "; ".join(switch) or "none")]
        + ["    " + line for line in logged])


def log_lines_naming(path, needle, count=LOGGED_LINES, width=LOGGED_WIDTH):
    """The last ``count`` lines of ``path`` that contain ``needle``, cut to ``width``."""
    try:
        with open(path, errors="replace") as handle:
            found = [REQUEST_CONTEXT.sub("", line.rstrip())[:width] for line in handle
                     if needle in line]
    except OSError as err:
        return ["%s: %s" % (path, err)]
    return ["%s: %s" % (os.path.basename(path), line) for line in found[-count:]]


def ping_from_namespace(argv_prefix, address, count=1, wait=1):
    """``ping`` run inside a network namespace; True when a reply came back."""
    proc = subprocess.run(argv_prefix + ["busybox", "ping", "-c", str(count), "-W", str(wait),
                                         address],
                          capture_output=True, text=True, check=False, timeout=count * wait + 10)
    return proc.returncode == 0


def in_container_netns(pid):
    return ["nsenter", "-t", str(pid), "-n", "--"]


def console_has(conn, server, needle, timeout=180):
    """The console text once it holds ``needle``; DependencyNotReady (with the console's
    last lines) after ``timeout``."""
    found = {}

    def printed():
        found["text"] = (conn.compute.get_server_console_output(server, length=400)
                         .get("output") or "")
        if needle in found["text"]:
            return None
        return "%r not printed yet; last lines:\n%s" % (
            needle, "\n".join(found["text"].splitlines()[-15:]))

    readiness.wait(printed, timeout, "console of %s" % server.id, interval=2)
    return found["text"]


# --- floating IPs and security groups (hybridhost.lab.demo_router) -----------------------

PUBLIC_NETWORK = "hh-public"
REACH_TIMEOUT = 60


def tcp_answers(address, port=80, timeout=1.0):
    """True when a TCP connection to ``address:port`` is accepted."""
    try:
        socket.create_connection((address, port), timeout=timeout).close()
    except OSError:
        return False
    return True


_CONNECT = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), " \
           "timeout=float(sys.argv[3]))"


def tcp_from_namespace(argv_prefix, address, port=80, wait=2):
    """A TCP connect run inside a network namespace; True when it was accepted."""
    proc = subprocess.run(argv_prefix + [sys.executable, "-c", _CONNECT, address, str(port),
                                         str(wait)],
                          capture_output=True, text=True, check=False, timeout=wait + 10)
    return proc.returncode == 0


def ping(address, count=1, wait=1):
    """busybox ``ping`` from the box itself (it has no ping binary of its own)."""
    return ping_from_namespace([], address, count, wait)


def wait_until(check, timeout=REACH_TIMEOUT, what="reachable", interval=0.2):
    """Seconds until ``check()`` is true; DependencyNotReady after ``timeout``."""
    start = time.monotonic()
    readiness.wait(lambda: None if check() else "not yet", timeout, what, interval=interval)
    return time.monotonic() - start


def security_group(conn, name, rules=()):
    """A new security group (only neutron's default egress rules) plus ``rules``, each
    ``(protocol, port or None)`` ingress from anywhere; returns the group."""
    group = conn.network.create_security_group(name=name, description="hybridhost e2e")
    for protocol, port in rules:
        allow(conn, group, protocol, port)
    return group


def allow(conn, group, protocol, port=None):
    """One ingress rule from anywhere (IPv4); returns it."""
    extra = {"port_range_min": port, "port_range_max": port} if port else {}
    return conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ethertype="IPv4",
        protocol=protocol, remote_ip_prefix="0.0.0.0/0", **extra)


def add_floating_ip(conn, server):
    """A new floating IP on hh-public bound to the server's (first) port."""
    public = conn.network.find_network(PUBLIC_NETWORK)
    assert public is not None, "no %s: run 'hybridhost lab up' ([lab] l3_agent)" % (
        PUBLIC_NETWORK)
    port = next(iter(conn.network.ports(device_id=server.id)))
    return conn.network.create_ip(floating_network_id=public.id, port_id=port.id)


def boot_reachable(conn, name, flavor, image, network, groups):
    """A server on ``network`` in security groups ``groups`` (names), ACTIVE, with a
    floating IP: ``(server, floating_ip)``. For tests that reach an instance from the
    box (ping, TCP, ssh); the caller deletes both."""
    server = conn.compute.create_server(
        name=name, flavor_id=conn.compute.find_flavor(flavor).id,
        image_id=conn.image.find_image(image).id, networks=[{"uuid": network.id}],
        security_groups=[{"name": group} for group in groups])
    server = wait_active(conn, server)
    return server, add_floating_ip(conn, server)


def create_on_demo_net(lab, name, flavor, image=demo.CONTAINER_IMAGE):
    """A server of ``flavor`` and ``image`` (names) on the demo network; not waited for."""
    network = lab.conn.network.find_network(demo.NETWORK)
    return lab.conn.compute.create_server(
        name=name, flavor_id=lab.conn.compute.find_flavor(flavor).id,
        image_id=lab.conn.image.find_image(image).id, networks=[{"uuid": network.id}])


def delete_servers(lab, servers):
    """Delete every one of ``servers`` at once, then wait until each is gone."""
    for server in servers:
        lab.conn.compute.delete_server(server, ignore_missing=True)
    for server in servers:
        lab.conn.compute.wait_for_delete(server, wait=180)


#: Every server an e2e test boots, and every image it makes, is named so; bench/ and
#: users' servers and images are not.
TEST_NAME_PREFIX = "hh-e2e-"


def _left_by_tests(kind, resources):
    """Those of ``resources`` named by an e2e test, announced as about to be deleted."""
    leftovers = [item for item in resources
                 if (item.name or "").startswith(TEST_NAME_PREFIX)]
    if leftovers:
        print("deleting %d %s(s) an earlier e2e run left: %s" % (
            len(leftovers), kind, ", ".join(sorted(item.name for item in leftovers))))
    return leftovers


def delete_leftover_servers(lab):
    """Delete the servers an earlier e2e run left (one killed mid-test keeps its fleet
    across 'lab down' and 'lab up'): they would take CPU and quota from this run."""
    leftovers = _left_by_tests("server", lab.conn.compute.servers(all_projects=True))
    if leftovers:
        delete_servers(lab, leftovers)


def delete_leftover_images(lab):
    """Delete the images an earlier e2e run left: guests it uploaded and shelve snapshots
    (``<server>-shelved``, queued when the run was killed mid-shelve) all carry the test
    prefix. Run after :func:`delete_leftover_servers`, so none is in use."""
    for image in _left_by_tests("image", lab.conn.image.images()):
        lab.conn.image.delete_image(image, ignore_missing=True)
