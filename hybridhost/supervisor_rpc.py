"""Adapter over supervisord's XML-RPC interface on its unix socket.

The one place that knows ``xmlrpc.client`` and supervisor's fault codes; they are
translated into hybridhost errors here.
"""

import dataclasses
import http.client
import logging
import socket
import xmlrpc.client

from supervisor import xmlrpc as supervisor_xmlrpc

from hybridhost import exception

LOG = logging.getLogger(__name__)

RUNNING = "RUNNING"


@dataclasses.dataclass(frozen=True)
class ProgramState:
    group: str
    name: str
    state: str
    pid: int
    description: str

    @property
    def full_name(self):
        return "%s:%s" % (self.group, self.name)

    @property
    def running(self):
        return self.state == RUNNING


class SupervisorClient:
    """A small typed view of supervisord's RPC interface."""

    def __init__(self, socket_path, timeout=10):
        self.url = "unix://" + socket_path
        transport = supervisor_xmlrpc.SupervisorTransport(None, None, serverurl=self.url)
        transport.timeout = timeout
        self._proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def _call(self, name, *args):
        method = self._proxy
        for part in name.split("."):
            method = getattr(method, part)
        try:
            return method(*args)
        except xmlrpc.client.Fault as err:
            raise exception.SupervisorFault(call=name, fault=err.faultString) from err
        except (OSError, socket.error, http.client.HTTPException,
                xmlrpc.client.ProtocolError) as err:
            raise exception.SupervisorUnreachable(url=self.url, reason=err) from err

    def state(self):
        return self._call("supervisor.getState")["statename"]

    def pid(self):
        return self._call("supervisor.getPID")

    def programs(self):
        return [ProgramState(group=info["group"], name=info["name"],
                             state=info["statename"], pid=info["pid"],
                             description=info["description"])
                for info in self._call("supervisor.getAllProcessInfo")]

    def reload_config(self):
        """Apply changed program files (like ``supervisorctl update``)."""
        added, changed, removed = self._call("supervisor.reloadConfig")[0]
        for group in removed:
            self._call("supervisor.stopProcessGroup", group, True)
            self._call("supervisor.removeProcessGroup", group)
        for group in changed:
            self._call("supervisor.stopProcessGroup", group, True)
            self._call("supervisor.removeProcessGroup", group)
            self._call("supervisor.addProcessGroup", group)
        for group in added:
            self._call("supervisor.addProcessGroup", group)
        return added, changed, removed

    def start(self, name, wait=False):
        """Start one program ('group:name')."""
        return self._call("supervisor.startProcess", name, wait)

    def stop(self, name, wait=True):
        """Stop one program ('group:name'); with wait, return once it has stopped."""
        return self._call("supervisor.stopProcess", name, wait)

    def stop_group(self, group, wait=True):
        return self._call("supervisor.stopProcessGroup", group, wait)

    def start_all(self):
        return self._call("supervisor.startAllProcesses", False)

    def stop_all(self):
        return self._call("supervisor.stopAllProcesses", True)

    def shutdown(self):
        return self._call("supervisor.shutdown")
