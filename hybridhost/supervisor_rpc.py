"""Adapter over supervisord's XML-RPC interface on its unix socket.

The one place that knows ``xmlrpc.client`` and supervisor's fault codes; they are
translated into hybridhost errors here.
"""

import dataclasses
import http.client
import logging
import socket
from typing import Any
import xmlrpc.client

from hybridhost import exception

LOG = logging.getLogger(__name__)

RUNNING = "RUNNING"
#: supervisor.xmlrpc.Faults' codes (part of its RPC interface); supervisor.xmlrpc itself
#: is imported only to name a fault: hybridhost-watcher, which calls supervisord for as
#: long as the box runs, would keep its server-side imports for nothing.
ALREADY_STARTED, NOT_RUNNING = 60, 70

#: The faults a caller may mean to tolerate; every other one is a SupervisorFault.
TOLERABLE_FAULTS = {
    ALREADY_STARTED: exception.ProgramAlreadyStarted,
    NOT_RUNNING: exception.ProgramAlreadyStopped,
}


def fault_error(action: str, target: str,
                fault: xmlrpc.client.Fault) -> exception.SupervisorFault:
    """The hybridhost error for supervisord's ``fault`` (an ``xmlrpc.client.Fault``)
    to the call that would ``action`` ``target``."""
    from supervisor import xmlrpc as supervisor_xmlrpc

    name: str = supervisor_xmlrpc.getFaultDescription(fault.faultCode)
    prefix, _, extra = fault.faultString.partition(": ")
    if prefix != name:
        extra = fault.faultString
    detail = " (%s)" % extra if extra and extra not in (name, target) else ""
    error = TOLERABLE_FAULTS.get(fault.faultCode, exception.SupervisorFault)
    return error(action=action, target=target, fault=name, code=fault.faultCode,
                 detail=detail)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class UnixTransport(xmlrpc.client.Transport):
    """XML-RPC over supervisord's unix socket (what supervisor's own transport does)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__()
        self.unix_path, self.timeout = path, timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        return _UnixConnection(self.unix_path, self.timeout)


@dataclasses.dataclass(frozen=True)
class ProgramState:
    group: str
    name: str
    state: str
    pid: int
    description: str

    @property
    def full_name(self) -> str:
        return "%s:%s" % (self.group, self.name)

    @property
    def running(self) -> bool:
        return self.state == RUNNING


class SupervisorClient:
    """A small typed view of supervisord's RPC interface."""

    def __init__(self, socket_path: str, timeout: float = 10) -> None:
        self.url = "unix://" + socket_path
        self._proxy = xmlrpc.client.ServerProxy("http://127.0.0.1",
                                                transport=UnixTransport(socket_path, timeout))

    def _call(self, action: str, target: str, name: str, *args: Any) -> Any:
        """Call ``name``; a fault becomes the error saying supervisord refused to
        ``action`` ``target``."""
        method: Any = self._proxy
        for part in name.split("."):
            method = getattr(method, part)
        try:
            return method(*args)
        except xmlrpc.client.Fault as err:
            raise fault_error(action, target, err) from err
        except (OSError, socket.error, http.client.HTTPException,
                xmlrpc.client.ProtocolError) as err:
            raise exception.SupervisorUnreachable(url=self.url, reason=err) from err

    def state(self) -> str:
        state: str = self._call("report", "its state", "supervisor.getState")["statename"]
        return state

    def pid(self) -> int:
        pid: int = self._call("report", "its pid", "supervisor.getPID")
        return pid

    def programs(self) -> list[ProgramState]:
        return [ProgramState(group=info["group"], name=info["name"],
                             state=info["statename"], pid=info["pid"],
                             description=info["description"])
                for info in self._call("list", "its programs",
                                       "supervisor.getAllProcessInfo")]

    def reload_config(self) -> tuple[list[str], list[str], list[str]]:
        """Apply changed program files (like ``supervisorctl update``)."""
        added: list[str]
        changed: list[str]
        removed: list[str]
        added, changed, removed = self._call("reload", "its configuration",
                                             "supervisor.reloadConfig")[0]
        for group in removed:
            self.stop_group(group)
            self._call("remove", group, "supervisor.removeProcessGroup", group)
        for group in changed:
            self.stop_group(group)
            self._call("remove", group, "supervisor.removeProcessGroup", group)
            self._call("add", group, "supervisor.addProcessGroup", group)
        for group in added:
            self._call("add", group, "supervisor.addProcessGroup", group)
        return added, changed, removed

    def start(self, name: str, wait: bool = False) -> Any:
        """Start one program ('group:name')."""
        return self._call("start", name, "supervisor.startProcess", name, wait)

    def stop(self, name: str, wait: bool = True) -> Any:
        """Stop one program ('group:name'); with wait, return once it has stopped."""
        return self._call("stop", name, "supervisor.stopProcess", name, wait)

    def ensure_started(self, name: str, wait: bool = False) -> bool:
        """Start one program unless it already runs; True when it was started here."""
        try:
            self.start(name, wait)
        except exception.ProgramAlreadyStarted:
            LOG.debug("%s is already started", name)
            return False
        return True

    def ensure_stopped(self, name: str, wait: bool = True) -> bool:
        """Stop one program unless it is not running; True when it was stopped here."""
        try:
            self.stop(name, wait)
        except exception.ProgramAlreadyStopped:
            LOG.debug("%s is not running", name)
            return False
        return True

    def restart(self, name: str) -> Any:
        """Stop one program (unless it is not running) and start it again."""
        # Waits for the stop: starting a program still STOPPING does nothing.
        self.ensure_stopped(name, wait=True)
        return self.start(name)

    def signal(self, name: str, signal: str) -> Any:
        """Send ``signal`` (a name such as 'CONT') to one program's process."""
        return self._call("signal", name, "supervisor.signalProcess", name, signal)

    def stop_group(self, group: str, wait: bool = True) -> Any:
        return self._call("stop", group, "supervisor.stopProcessGroup", group, wait)

    def start_all(self) -> Any:
        return self._call("start", "all programs", "supervisor.startAllProcesses", False)

    def stop_all(self) -> Any:
        return self._call("stop", "all programs", "supervisor.stopAllProcesses", True)

    def shutdown(self) -> Any:
        return self._call("shut down", "itself", "supervisor.shutdown")
