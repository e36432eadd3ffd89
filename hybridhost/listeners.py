"""The TCP ports the box's programs listen on, and who holds them.

A port already held when supervisord starts (a lab service left running by an earlier
supervisord that was killed, another RabbitMQ or keystone on the machine) makes its
program exit at start, and all 'up' could say was "not RUNNING" or "not ready". 'up'
asks first and names the holder.
"""

import dataclasses

import psutil

from hybridhost import conf as hh_conf

#: The box listens on 127.0.0.1; a listener there or on a wildcard address takes the port.
_CLASHING_ADDRESSES = ("127.0.0.1", "0.0.0.0", "::", "::ffff:127.0.0.1")
_COMMAND_CHARS = 100


@dataclasses.dataclass(frozen=True)
class Holder:
    port: int
    option: str
    pid: int | None
    command: str

    def __str__(self):
        holder = ("pid %d (%s)" % (self.pid, self.command) if self.pid
                  else "a process this user cannot see")
        return "port %d (%s) is held by %s" % (self.port, self.option, holder)


def box_ports(conf):
    """``{port: option}`` of every TCP port the box's programs listen on."""
    ports = {conf.ovs.of_listen_port: "[ovs] of_listen_port"}
    if conf.supervisor.inet_port:
        ports[conf.supervisor.inet_port] = "[supervisor] inet_port"
    if conf.watcher.metrics_port:
        ports[conf.watcher.metrics_port] = "[watcher] metrics_port"
    if conf.lab.enabled:
        ports.update({port: "[lab] %s" % name
                      for name, port in hh_conf.lab_ports(conf).items()})
    return ports


def holders(ports, connections=None):
    """A :class:`Holder` for each of ``ports`` ({port: option}) some process listens on,
    in this network namespace; ``connections`` is psutil's view (read when None)."""
    if connections is None:
        connections = psutil.net_connections(kind="tcp")
    found = {}
    for conn in connections:
        port = conn.laddr.port if conn.laddr else None
        if (conn.status == psutil.CONN_LISTEN and port in ports and port not in found
                and conn.laddr.ip in _CLASHING_ADDRESSES):
            found[port] = Holder(port, ports[port], conn.pid, _command(conn.pid))
    return [found[port] for port in sorted(found)]


def strangers(conf, box_pid=None, connections=None):
    """The holders of the box's ports that are not supervisord ``box_pid`` or under it
    (all of them when the box is down: ``box_pid`` None)."""
    ours = _tree(box_pid)
    return [holder for holder in holders(box_ports(conf), connections)
            if holder.pid is None or holder.pid not in ours]


def _tree(pid):
    if pid is None:
        return set()
    try:
        root = psutil.Process(pid)
        return {pid} | {child.pid for child in root.children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _command(pid):
    if not pid:
        return ""
    try:
        command = " ".join(psutil.Process(pid).cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone or hidden"
    if len(command) > _COMMAND_CHARS:
        return command[:_COMMAND_CHARS - 3] + "..."
    return command
