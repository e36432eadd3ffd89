"""Hand-written fakes at hybridhost's seams (kept honest by tests/contract)."""

import itertools
import subprocess
import xmlrpc.client

from supervisor import xmlrpc as supervisor_xmlrpc

from hybridhost import exception
from hybridhost import supervisor_rpc

FAULTS = supervisor_xmlrpc.Faults
#: supervisord's states from which stopProcess stops and startProcess refuses.
RUNNING_STATES = ("RUNNING", "STARTING", "BACKOFF")


def _fault(action, target, code, extra=None):
    """The error the real client raises when supervisord answers with this fault."""
    text = supervisor_xmlrpc.getFaultDescription(code)
    if extra is not None:
        text = "%s: %s" % (text, extra)
    return supervisor_rpc.fault_error(action, target, xmlrpc.client.Fault(code, text))


class FakeSupervisorClient:
    """In-memory supervisord: programs with states, the same calls and faults.

    ``cannot_spawn`` programs fail every start with SPAWN_ERROR and end FATAL (as a
    program that exits before its startsecs does when the start waits, or when
    supervisord cannot fork); ``no_file`` programs name a command that does not exist
    (NO_FILE, they stay as they were).
    """

    url = "unix:///fake/supervisor.sock"

    def __init__(self, programs, cannot_spawn=(), no_file=()):
        # programs: {"group:name": state}
        self._states = dict(programs)
        self._next_pid = itertools.count(1000)
        self._pids = {name: next(self._next_pid) for name in sorted(programs)}
        self._cannot_spawn = set(cannot_spawn)
        self._no_file = set(no_file)
        self._up = True

    def _check_up(self):
        if not self._up:
            raise exception.SupervisorUnreachable(url=self.url, reason="connection refused")

    def state(self):
        self._check_up()
        return "RUNNING"

    def pid(self):
        self._check_up()
        return 999

    def programs(self):
        self._check_up()
        result = []
        for full_name, state in sorted(self._states.items()):
            group, name = full_name.split(":")
            running = state == supervisor_rpc.RUNNING
            result.append(supervisor_rpc.ProgramState(
                group=group, name=name, state=state,
                pid=self._pids[full_name] if running else 0,
                description="pid %d, uptime 0:00:01" % self._pids[full_name]
                if running else "Not started"))
        return result

    def reload_config(self):
        self._check_up()
        return [], [], []

    def start(self, name, wait=False):
        self._check_up()
        self._require("start", name)
        if name in self._no_file:
            raise _fault("start", name, FAULTS.NO_FILE, "can't find command for %s" % name)
        if self._states[name] in RUNNING_STATES:
            raise _fault("start", name, FAULTS.ALREADY_STARTED, name)
        self._spawn(name)
        if name in self._cannot_spawn:
            raise _fault("start", name, FAULTS.SPAWN_ERROR, name)
        return True

    def _spawn(self, name):
        if name in self._no_file:
            return
        if name in self._cannot_spawn:
            self._states[name] = "FATAL"
            return
        self._states[name] = supervisor_rpc.RUNNING
        self._pids[name] = next(self._next_pid)

    def stop(self, name, wait=True):
        self._check_up()
        self._require("stop", name)
        if self._states[name] not in RUNNING_STATES:
            raise _fault("stop", name, FAULTS.NOT_RUNNING, name)
        self._states[name] = "STOPPED"
        return True

    def signal(self, name, signal):
        self._check_up()
        self._require("signal", name)
        if self._states[name] not in RUNNING_STATES:
            raise _fault("signal", name, FAULTS.NOT_RUNNING, name)
        self.signals = getattr(self, "signals", []) + [(name, signal)]
        if signal == "KILL":
            self._states[name] = "EXITED"
        return True

    def stop_group(self, group, wait=True):
        self._check_up()
        members = [n for n in self._states if n.split(":")[0] == group]
        if not members:
            raise _fault("stop", group, FAULTS.BAD_NAME, group)
        for name in members:
            if self._states[name] in RUNNING_STATES:
                self._states[name] = "STOPPED"
        return []

    def _require(self, action, name):
        if name not in self._states:
            raise _fault(action, name, FAULTS.BAD_NAME, name)

    ensure_started = supervisor_rpc.SupervisorClient.ensure_started
    ensure_stopped = supervisor_rpc.SupervisorClient.ensure_stopped
    restart = supervisor_rpc.SupervisorClient.restart

    def start_all(self):
        self._check_up()
        for name, state in list(self._states.items()):
            if state not in RUNNING_STATES:
                self._spawn(name)
        return []

    def stop_all(self):
        self._check_up()
        for name, state in self._states.items():
            if state in RUNNING_STATES:
                self._states[name] = "STOPPED"
        return []

    def shutdown(self):
        self._check_up()
        self._up = False
        return True


class ProcessBackedSupervisorClient(FakeSupervisorClient):
    """The fake supervisord, its pid a real child process that its shutdown ends (for
    code that waits for supervisord's process to go)."""

    def __init__(self, programs):
        super().__init__(programs)
        self.process = subprocess.Popen(["sleep", "60"])

    def pid(self):
        self._check_up()
        return self.process.pid

    def shutdown(self):
        self.process.terminate()
        return super().shutdown()

    def state_of(self, name):
        return {p.full_name: p.state for p in self.programs()}[name]
