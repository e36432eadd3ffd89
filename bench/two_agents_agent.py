"""The second neutron-openvswitch-agent of bench/two_agents.py (the old layout) and
the repair of what it did to the box.

The agent runs as the Docker side's host on the lab's own integration and tunnel
bridges, from a copy of the lab's agent configuration in a temporary directory that
changes only what two agents on one machine cannot share: the host, the state and lock
paths, the log file, the privsep helper's configuration file and the OpenFlow
controller port (two agents cannot listen on one). Both agents are then controllers of
both bridges: its controller is added to each bridge's list before it starts (an agent
sets its own as the only controller when it is not listed, which would cut the lab's
agent off the bridges, a different failure from the one studied; agents of the
ovs-ofctl days both wrote flows, and so do these). It is this process's child, in its
own process group, and gets SIGTERM if this process dies.

Its traces, removed by bench/two_agents_net.repair: its controllers, its agent row
in neutron (whose deletion also drops the tunnel endpoint both agents registered for
the box's one ``local_ip``), its flows (their cookies are those the bridges did not
hold before it started; the lab agent's transient ones since go too), and the ports
it or the lab's agent declared dead. The lab's agent repairs the last two itself once
it believes Open vSwitch restarted: the repair deletes its canary flow, as an Open
vSwitch restart would, and the agent sets its bridges up again, registers its tunnel
endpoint and wires every port anew (what it does after a real restart, which leaves
no flow at all).
"""

import configparser
import ctypes
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from neutron_lib.plugins.ml2 import ovs_constants
from openstack import exceptions as sdk_exc
import psutil

PROGRAM = "neutron-openvswitch-agent"
OF_PROTOCOL = "OpenFlow13"
COOKIE = re.compile(r"cookie=(0x[0-9a-f]+)")
STOP_TIMEOUT = 10
ALIVE_TIMEOUT = 180
LOG_TAIL_LINES = 15
#: The agent's log says each loop of its main thread ended, and when that thread died
#: (its state reports go on in another thread: neutron still sees it alive).
LOOP_DONE = re.compile(r"Agent rpc_loop - iteration:\d+ completed")
LOOP_DIED = "Agent main thread died"
PR_SET_PDEATHSIG = 1


class AgentFailed(Exception):
    """The second agent did not come up (with the end of its log)."""


def free_port(address):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def render(text, host, workdir, config_file, of_port):
    """The lab's agent configuration ``text`` made into the second agent's: run as
    ``host``, its state, locks and log under ``workdir``, its privsep helpers reading
    ``config_file`` (where this text is written), its controller on ``of_port``."""
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    state = os.path.join(workdir, "state")
    parser["DEFAULT"].update({"host": host, "state_path": state, "log_dir": workdir,
                              "log_file": "%s.log" % PROGRAM})
    for section, option, value in (("oslo_concurrency", "lock_path",
                                    os.path.join(state, "locks")),
                                   ("ovs", "of_listen_port", str(of_port))):
        if not parser.has_section(section):
            parser.add_section(section)
        parser.set(section, option, value)
    if parser.has_option("privsep", "helper_command"):
        helper = parser.get("privsep", "helper_command")
        parser.set("privsep", "helper_command",
                   re.sub(r"--config-file \S+", "--config-file %s" % config_file, helper))
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def bridges(text):
    """``(integration bridge, tunnel bridge or None)`` of an agent configuration."""
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    tunnels = parser.get("agent", "tunnel_types", fallback="").strip()
    return (parser.get("ovs", "integration_bridge", fallback="br-int"),
            parser.get("ovs", "tunnel_bridge", fallback="br-tun") if tunnels else None)


def listen_address(text):
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    return parser.get("ovs", "of_listen_address", fallback="127.0.0.1")


def environment(base, bin_dir, run_dir):
    """``base`` (an environment) as the lab's supervisord gives its programs: the
    venv's bin first on PATH (privsep helpers are found there through ``root_helper
    = env``) and Open vSwitch's run directory."""
    path = base.get("PATH", os.defpath)
    return dict(base, PATH="%s%s%s" % (bin_dir, os.pathsep, path), OVS_RUNDIR=run_dir)


def _ofctl(*argv):
    proc = subprocess.run(["ovs-ofctl", "-O", OF_PROTOCOL] + list(argv), capture_output=True,
                          text=True, check=False, timeout=60)
    if proc.returncode:
        raise RuntimeError("ovs-ofctl %s: %s" % (" ".join(argv), proc.stderr.strip()))
    return proc.stdout


def cookies(bridge):
    """The cookies of the flows on ``bridge`` (OpenFlow has no per-agent owner; the
    cookie is how each agent tells its own flows)."""
    return set(COOKIE.findall(_ofctl("dump-flows", bridge)))


def delete_flows(bridge, cookie):
    _ofctl("del-flows", bridge, "cookie=%s/-1" % cookie)


def has_canary(bridge):
    return bool(COOKIE.search(_ofctl("dump-flows", bridge,
                                     "table=%d" % ovs_constants.CANARY_TABLE)))


def delete_canary(bridge):
    _ofctl("del-flows", bridge, "table=%d" % ovs_constants.CANARY_TABLE)


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class SecondAgent:
    """A neutron-openvswitch-agent for ``host`` beside the lab's (see the module)."""

    def __init__(self, plan, host, api, run_dir):
        self.plan, self.host, self.api, self.run_dir = plan, host, api, run_dir
        self.workdir = tempfile.mkdtemp(prefix="hh-two-agents-")
        self.config_file = os.path.join(self.workdir, "%s.conf" % PROGRAM)
        self.log_file = os.path.join(self.workdir, "%s.log" % PROGRAM)
        os.makedirs(os.path.join(self.workdir, "state", "locks"))
        with open(plan.agent.config_file) as handle:
            text = handle.read()
        self.bridges = [name for name in bridges(text) if name]
        self.cookies_before = {name: cookies(name) for name in self.bridges}
        self.controllers_before = self.controllers()
        address = listen_address(text)
        port = free_port(address)
        self.controller = "tcp:%s:%d" % (address, port)
        with open(self.config_file, "w") as handle:
            handle.write(render(text, host, self.workdir, self.config_file, port))
        self.process = None

    def controllers(self):
        return {name: sorted(self.api.get_controller(name).execute(check_error=True))
                for name in self.bridges}

    def add_controller(self):
        """Its controller added to each bridge's list, the lab agent's row kept."""
        for name in self.bridges:
            with self.api.transaction(check_error=True) as txn:
                row = txn.add(self.api.db_create("Controller", target=self.controller))
                txn.add(self.api.db_add("Bridge", name, "controller", row))

    def remove_controller(self):
        rows = self.api.db_find("Controller", ("target", "=", self.controller),
                                columns=["_uuid"]).execute(check_error=True)
        for name in self.bridges:
            for row in rows:
                self.api.db_remove("Bridge", name, "controller",
                                   row["_uuid"]).execute(check_error=True)

    def start(self):
        self.add_controller()
        stdout = open(os.path.join(self.workdir, "stdout.log"), "wb")
        with stdout:
            self.process = subprocess.Popen(
                [os.path.join(self.plan.bin_dir, PROGRAM), "--config-file", self.config_file],
                stdout=stdout, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=environment(os.environ, self.plan.bin_dir, self.run_dir),
                start_new_session=True, preexec_fn=_die_with_parent)
        return self

    def wait_alive(self, conn, timeout=ALIVE_TIMEOUT):
        """The agent's neutron row once it reports alive and its main loop has ended a
        first iteration; AgentFailed if it exits, its main loop dies, or not within
        ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            failure = self.failure()
            if failure:
                raise AgentFailed("%s:\n%s" % (failure, self.log_tail()))
            if LOOP_DONE.search(self._log()):
                for agent in conn.network.agents(host=self.host, binary=PROGRAM):
                    if agent.is_alive:
                        return agent
            time.sleep(2)
        raise AgentFailed("the second agent did not report alive in %ds:\n%s" % (
            timeout, self.log_tail()))

    def failure(self):
        """Why the agent no longer works (None: it runs its main loop)."""
        if self.process.poll() is not None:
            return "the second agent exited with %s" % self.process.returncode
        if LOOP_DIED in self._log():
            return "the second agent's main loop died"
        return None

    def _log(self):
        try:
            with open(self.log_file, errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def log_tail(self):
        for path in (self.log_file, os.path.join(self.workdir, "stdout.log")):
            try:
                with open(path, errors="replace") as handle:
                    lines = handle.read().splitlines()
            except OSError:
                continue
            if lines:
                return "\n".join(lines[-LOG_TAIL_LINES:])
        return "(no log)"

    def stop(self):
        """SIGTERM to its process group (privsep daemons included), SIGKILL after
        STOP_TIMEOUT; then any process still reading its configuration, by pid."""
        if self.process is not None and self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        for process in self.processes():
            try:
                process.kill()
            except psutil.Error:
                pass

    def processes(self):
        """Processes started with this agent's configuration file still running."""
        found = []
        for process in psutil.process_iter(["cmdline"]):
            if self.config_file in (process.info["cmdline"] or []):
                found.append(process)
        return found

    def forget(self, conn):
        """Delete its neutron agent row(s); the errors."""
        errors = []
        for agent in conn.network.agents(host=self.host, binary=PROGRAM):
            try:
                conn.network.delete_agent(agent, ignore_missing=True)
            except sdk_exc.SDKException as err:
                errors.append("agent %s: %s" % (agent.id, err))
        return errors

    def new_cookies(self):
        """``{bridge: cookies}`` the bridges hold now and did not before it started: its
        own, and any the lab's agent took since (its firewall takes one per update);
        deleting the latter is harmless before the lab's agent rebuilds its flows."""
        return {name: sorted(cookies(name) - self.cookies_before[name])
                for name in self.bridges}

    def remove_flows(self):
        """Delete the flows with :meth:`new_cookies`; the cookies deleted."""
        found = self.new_cookies()
        for name, values in found.items():
            for cookie in values:
                delete_flows(name, cookie)
        return found

    def remove_files(self):
        shutil.rmtree(self.workdir, ignore_errors=True)
        return not os.path.exists(self.workdir)


def _signal_group(pid, signum):
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass
