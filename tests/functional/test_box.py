"""A real box: supervisord rendered by hybridhost, with real ovsdb-server, ovs-vswitchd
(userspace), dockerd and the real neutron OVS agent, in a temporary directory.

No control plane runs here, so the nova-computes cannot become useful; what is checked
is the supervision layer: host services and the agent reach RUNNING, the agent builds
its netdev bridges, ``hybridhost status`` agrees with supervisord and supervisorctl,
``up`` is idempotent and ``down`` leaves no process behind.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import psutil
import pytest

from hybridhost import box as hh_box
from hybridhost import exception
from hybridhost import readiness
from hybridhost import supervisor_rpc
from tests.functional import base

BIN = os.path.dirname(sys.executable)
STABLE = ("host-services:ovsdb-server", "host-services:ovs-vswitchd",
          "host-services:dockerd", "hybridhost:neutron-openvswitch-agent")
#: The event listener is its own process group; supervisorctl names it by its name alone.
WATCHER = "hybridhost-watcher:hybridhost-watcher"

CONF = """\
[host]
name = hhf
kvm_nodename = hhf
total_vcpus = 4
total_memory_mb = 8192
total_disk_gb = 40
managed_services = ovsdb-server,ovs-vswitchd,dockerd

""" + base.PATHS_SECTION + """
[docker]
url = unix://{d}/run/docker.sock
data_root = {d}/docker

[libvirt]
# No libvirtd in this test: nova-compute-kvm keeps waiting for this socket.
socket = {d}/run/no-libvirt-sock

[ovs]
ovsdb_connection = unix:{d}/ovs/db.sock
run_dir = {d}/ovs
db_file = {d}/ovs/conf.db
integration_bridge = br-hhf
tunnel_bridge = br-hhft
of_listen_port = 16633

[openstack]
# Nothing listens here: the agent and computes retry, which is all this test needs.
transport_url = rabbit://guest:guest@127.0.0.1:1/
"""


def _hybridhost(conf_path, *argv, check=True, own_netns=False):
    argv = [os.path.join(BIN, "hybridhost"), "--config-file", conf_path] + list(argv)
    if own_netns:
        # Userspace OVS creates a tap named 'ovs-netdev': two ovs-vswitchd cannot share a
        # network namespace, so this box gets its own (with loopback up for the agent's
        # OpenFlow controller and RabbitMQ on 127.0.0.1).
        argv = ["unshare", "--net", "--", "sh", "-c",
                'ip link set lo up && exec "$@"', "sh"] + argv
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError("hybridhost %s failed (%d):\n%s\n%s" % (
            " ".join(argv), proc.returncode, proc.stdout, proc.stderr))
    return proc


@pytest.fixture(scope="module")
def box():
    base.require_root()
    base.require_binaries("ovsdb-server", "ovs-vswitchd", "ovsdb-tool", "dockerd", "unshare",
                          "ip")
    base.require(os.path.exists(os.path.join(BIN, "hybridhost")),
                 "hybridhost is not installed beside %s (pip install .)" % sys.executable)
    base.require(os.path.exists(os.path.join(BIN, "neutron-openvswitch-agent")),
                 "neutron is not installed beside %s" % sys.executable)
    directory = tempfile.mkdtemp(prefix="hhf", dir="/tmp")
    conf_path = os.path.join(directory, "hybridhost.conf")
    with open(conf_path, "w") as handle:
        handle.write(CONF.format(d=directory, bin=BIN))
    box = type("Box", (), {})()
    box.dir, box.conf = directory, conf_path
    box.supervisord_conf = os.path.join(directory, "etc", "conf", "supervisord.conf")
    box.client = supervisor_rpc.SupervisorClient(os.path.join(directory, "run",
                                                              "supervisor.sock"))
    box.up = _hybridhost(conf_path, "up", "--no-wait", own_netns=True)
    yield box
    _hybridhost(conf_path, "down", check=False)
    _kill_leftovers(directory)
    shutil.rmtree(directory, ignore_errors=True)


def _processes_using(directory):
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if directory in cmdline and process.pid != os.getpid():
            found.append(process)
    return found


def _kill_leftovers(directory):
    for process in _processes_using(directory):
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def _states(client):
    return {p.full_name: p for p in client.programs()}


def _full_name(name):
    return name if ":" in name else "%s:%s" % (name, name)


def _stable_running(client):
    try:
        states = _states(client)
    except exception.HybridhostError:  # not answering yet, or shutting down
        return False
    return all(states.get(name) and states[name].running for name in STABLE) and states


def _run_instance_container(box, tmp_path):
    """A container labelled as an instance of this box's Docker side (as the driver
    makes them), so ``down`` must stop it although dockerd runs with --live-restore."""
    from hybridhost.virt.docker import engine as docker_engine
    from hybridhost.virt.docker import limits
    from tests.contract import tarballs

    base.require(tarballs.have_busybox(), "busybox-static is not installed")
    engine = docker_engine.Engine.connect("unix://%s/run/docker.sock" % box.dir, "1.41",
                                          "hhf-docker")
    tarball = tmp_path / "busybox.tar"
    tarballs.write_tarball(str(tarball), tarballs.busybox_layer(),
                           repo_tags=["hhf/busybox:latest"], cmd=["sleep", "3600"])
    with open(tarball, "rb") as handle:
        engine.load_image(handle)
    uuid = "6f1c0d3e-1b0e-4c56-9b7e-1d2f3a4b5c6d"
    engine.create(uuid, "instance-1", "hhf/busybox:latest",
                  limits.host_config_kwargs(limits.limits_for(64, 1, 64)))
    engine.start(uuid)
    return engine


class TestBox:
    def test_host_services_and_agent_reach_running(self, box):
        states = base.wait_until(lambda: _stable_running(box.client), 180,
                                 what="host services and agent RUNNING")
        assert set(states) == set(STABLE) | {"hybridhost:nova-compute-docker",
                                             "hybridhost:nova-compute-kvm",
                                             WATCHER}
        assert "supervisord started" in box.up.stdout

    def test_control_socket_is_root_only(self, box):
        sock = os.path.join(box.dir, "run", "supervisor.sock")
        assert os.stat(sock).st_mode & 0o777 == 0o700
        assert os.stat(sock).st_uid == 0

    def test_the_one_agent_built_netdev_bridges(self, box):
        connection = "unix:%s/ovs/db.sock" % box.dir
        base.wait_until(lambda: {"br-hhf", "br-hhft"} <= set(readiness.bridges(connection)),
                        120, what="the agent's integration and tunnel bridges")
        bridges = readiness.bridges(connection)
        assert bridges["br-hhf"] == "netdev" and bridges["br-hhft"] == "netdev"
        agents = [p for p in psutil.process_iter(["cmdline"])
                  if any("neutron-openvswitch-agent" in part
                         for part in (p.info["cmdline"] or [])[:2])
                  and box.dir in " ".join(p.info["cmdline"] or [])]
        assert len(agents) == 1

    def test_ovs_vswitchd_started_with_userspace_tso(self, box):
        """Without it TCP between two veths through the userspace datapath never connects."""
        rows = _query_open_vswitch("unix:%s/ovs/db.sock" % box.dir)
        assert dict(rows[0]["other_config"][1])[hh_box.USERSPACE_TSO] == "true"

    def test_dockerd_answers_on_the_configured_socket(self, box):
        assert readiness.docker_version("unix://%s/run/docker.sock" % box.dir) >= "1.41"

    def test_status_agrees_with_supervisord_and_supervisorctl(self, box):
        base.wait_until(lambda: _stable_running(box.client), 120, what="stable programs")
        proc = _hybridhost(box.conf, "status", "--json", check=False)
        reported = {p["name"]: p for p in json.loads(proc.stdout)["programs"]}
        rpc = _states(box.client)
        ctl = subprocess.run([os.path.join(BIN, "supervisorctl"), "-c",
                              box.supervisord_conf, "status"],
                             capture_output=True, text=True, check=False)
        ctl_states = {_full_name(line.split()[0]): line.split()[1]
                      for line in ctl.stdout.splitlines()}
        assert set(reported) == set(rpc) == set(ctl_states)
        for name in STABLE:
            assert reported[name]["state"] == rpc[name].state == ctl_states[name] == "RUNNING"
            assert reported[name]["pid"] == rpc[name].pid
        # Stricter than supervisorctl (which counts STARTING/BACKOFF as fine): a program
        # not RUNNING is degraded (1, starting or backing off) or down (2, FATAL).
        # nova-compute-kvm never runs here.
        assert rpc["hybridhost:nova-compute-kvm"].state != "RUNNING"
        health = json.loads(proc.stdout)["health"]
        assert (health, proc.returncode) in (("degraded", 1), ("down", 2))

    def test_doctor_checks_the_real_components(self, box):
        base.wait_until(lambda: _stable_running(box.client), 120, what="stable programs")
        proc = _hybridhost(box.conf, "doctor", check=False)
        lines = {line.split()[1]: line.split()[0] for line in proc.stdout.splitlines()
                 if line[:4].strip() in ("ok", "FAIL", "warn")}
        assert lines["docker"] == "ok" and "API 1." in proc.stdout
        assert lines["ovsdb"] == "ok" and lines["bridge"] == "ok"
        assert "every bridge is netdev" in proc.stdout
        assert lines["rendered"] == "ok" and lines["identities"] == "ok"
        # No libvirtd in this box: doctor says so and names the fix; exit 1.
        assert lines["libvirt"] == "FAIL"
        assert "fix: start libvirtd, or set [host] manage_services" in proc.stdout
        assert proc.returncode == 1

    def test_up_again_changes_nothing(self, box):
        before = {name: p.pid for name, p in _states(box.client).items() if name in STABLE}
        proc = _hybridhost(box.conf, "up", "--no-wait")
        assert "0 file(s) changed" in proc.stdout
        assert "already running" in proc.stdout
        after = {name: p.pid for name, p in _states(box.client).items() if name in STABLE}
        assert before == after

    def test_up_restarts_only_the_program_reading_a_changed_file(self, box):
        """supervisord notices only changed program sections; 'up' restarts the one
        program whose --config-file changed and leaves the others running."""
        agent = "hybridhost:neutron-openvswitch-agent"
        base.wait_until(lambda: _stable_running(box.client), 120, what="stable programs")
        before = {name: p.pid for name, p in _states(box.client).items() if name in STABLE}
        with open(box.conf) as handle:
            text = handle.read()
        with open(box.conf, "w") as handle:
            handle.write(text.replace("of_listen_port = 16633", "of_listen_port = 16634"))
        proc = _hybridhost(box.conf, "up", "--no-wait")
        assert "(1 file(s) changed)" in proc.stdout
        assert "restarted %s (their configuration changed)" % agent in proc.stdout
        states = base.wait_until(lambda: _stable_running(box.client), 120,
                                 what="stable programs after the restart")
        after = {name: states[name].pid for name in STABLE}
        assert after[agent] != before[agent]
        assert {n: p for n, p in after.items() if n != agent} == {
            n: p for n, p in before.items() if n != agent}

    def test_down_leaves_no_process_behind(self, box, tmp_path):
        engine = _run_instance_container(box, tmp_path)
        assert [info.running for info in engine.list_own()] == [True]
        pid = box.client.pid()
        tree = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
        assert len(tree) >= 5
        proc = _hybridhost(box.conf, "down")
        assert "box stopped: 1 container(s) stopped" in proc.stdout
        assert [p.pid for p in tree if p.is_running()] == []
        assert _processes_using(box.dir) == []
        status = _hybridhost(box.conf, "status", check=False)
        assert status.returncode == 2  # down


def _query_open_vswitch(target, tool=("ovsdb-client", "transact")):
    """The Open_vSwitch table's rows, from a server (``ovsdb-client``) or a database file
    (``ovsdb-tool query``)."""
    query = json.dumps(["Open_vSwitch", {"op": "select", "table": "Open_vSwitch",
                                         "where": [], "columns": ["other_config"]}])
    out = subprocess.run([*tool, target, query], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    return json.loads(out)[0]["rows"]


class TestPrepareOvsdb:
    """prepare_ovsdb against the real ovsdb-tool, on a database file of its own."""

    def _other_config(self, db_file):
        return dict(_query_open_vswitch(db_file, tool=("ovsdb-tool", "query"))[0]
                    ["other_config"][1])

    def test_a_new_database_offers_userspace_tso(self, tmp_path):
        base.require_binaries("ovsdb-tool")
        db_file = str(tmp_path / "conf.db")
        assert hh_box.prepare_ovsdb(db_file, "netdev") == "created"
        assert self._other_config(db_file) == {hh_box.USERSPACE_TSO: "true"}
        assert hh_box.prepare_ovsdb(db_file, "netdev") == "kept"
        assert self._other_config(db_file) == {hh_box.USERSPACE_TSO: "true"}

    def test_an_operators_own_setting_is_kept_and_system_datapath_untouched(self, tmp_path):
        base.require_binaries("ovsdb-tool")
        db_file = str(tmp_path / "conf.db")
        hh_box.prepare_ovsdb(db_file, "system")
        assert self._other_config(db_file) == {}
        subprocess.run(["ovsdb-tool", "transact", db_file, json.dumps(
            ["Open_vSwitch", {"op": "mutate", "table": "Open_vSwitch", "where": [],
                              "mutations": [["other_config", "insert", ["map", [
                                  [hh_box.USERSPACE_TSO, "false"]]]]]}])], check=True)
        hh_box.prepare_ovsdb(db_file, "netdev")
        assert self._other_config(db_file) == {hh_box.USERSPACE_TSO: "false"}
