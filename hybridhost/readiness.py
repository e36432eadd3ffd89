"""Probes for "is what this program needs ready?", used by ``hybridhost wait-for`` and
``hybridhost doctor``. Each probe returns None when ready, or a short reason when not.
"""

import os
import socket
import time
import urllib.error
import urllib.request

from hybridhost import exception

# docker and python-ovs are imported by the probes that use them, not here: every
# supervised program starts through 'hybridhost wait-for', and importing both costs
# ~0.4 s, most of that command's run time, even for a probe that needs neither.


def _strerror(code):
    return os.strerror(code) if isinstance(code, int) else str(code)


def ovsdb_request(connection, method, params, timeout=5):
    """One JSON-RPC request to OVSDB (python-ovs); OvsdbUnavailable on failure."""
    import ovs.jsonrpc
    import ovs.stream

    error, stream = ovs.stream.Stream.open_block(
        ovs.stream.Stream.open(connection), timeout * 1000)
    if error:
        raise exception.OvsdbUnavailable(connection=connection, reason=_strerror(error))
    rpc = ovs.jsonrpc.Connection(stream)
    try:
        error, reply = rpc.transact_block(ovs.jsonrpc.Message.create_request(method, params))
    finally:
        rpc.close()
    if error:
        raise exception.OvsdbUnavailable(connection=connection, reason=_strerror(error))
    if reply.error:
        raise exception.OvsdbUnavailable(connection=connection, reason=reply.error)
    return reply.result


def bridges(connection, timeout=5):
    """``{bridge name: datapath_type}`` of every bridge in OVSDB."""
    result = ovsdb_request(connection, "transact", [
        "Open_vSwitch", {"op": "select", "table": "Bridge", "where": [],
                         "columns": ["name", "datapath_type"]}], timeout)
    return {row["name"]: row["datapath_type"] for row in result[0].get("rows", [])}


def ovsdb(connection, timeout=5):
    """OVSDB answers and serves the Open_vSwitch database."""
    try:
        dbs = ovsdb_request(connection, "list_dbs", [], timeout)
    except exception.OvsdbUnavailable as err:
        return err.kwargs["reason"]
    if "Open_vSwitch" not in dbs:
        return "it does not serve the Open_vSwitch database"
    return None


def bridge(connection, name, timeout=5):
    try:
        present = bridges(connection, timeout)
    except exception.OvsdbUnavailable as err:
        return "OVSDB: %s" % err.kwargs["reason"]
    return None if name in present else "bridge %s does not exist yet" % name


def docker_version(url, timeout=5):
    """The engine's API version; DockerUnavailable when it does not answer."""
    import docker

    try:
        client = docker.DockerClient(base_url=url, version="auto", timeout=timeout)
        try:
            return client.version()["ApiVersion"]
        finally:
            client.close()
    except docker.errors.DockerException as err:
        raise exception.DockerUnavailable(url=url, reason=err) from err


def docker_engine(url, timeout=5):
    try:
        docker_version(url, timeout)
    except exception.DockerUnavailable as err:
        return str(err.kwargs["reason"])
    return None


def unix_socket(path, timeout=5):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError as err:
        return "%s: %s" % (path, err.strerror or err)
    finally:
        sock.close()
    return None


def tcp_port(port, timeout=2):
    """Something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return None
    except OSError as err:
        return "127.0.0.1:%d: %s" % (port, err.strerror or err)


def http(url, timeout=5):
    """The web application answers; any HTTP status (300, 401...) means it is loaded."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except OSError as err:
        return "%s: %s" % (url, err)


def wait(probe, timeout, what, interval=0.5):
    """Call ``probe`` until it reports ready (None); DependencyNotReady after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        reason = probe()
        if reason is None:
            return
        if time.monotonic() > deadline:
            raise exception.DependencyNotReady(need=what, seconds=timeout, reason=reason)
        time.sleep(interval)
