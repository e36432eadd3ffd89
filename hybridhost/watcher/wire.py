"""The daemons' own protocols, spoken directly for the watcher's liveness probes: OVSDB's
and ovs-vswitchd's JSON-RPC, Docker's HTTP API on its socket, libvirt's RPC.

The watcher runs for as long as the box and must stay small: python-ovs pulls in
eventlet (22 MB) when it is installed, the Docker SDK requests (14 MB), libvirt-python
its C library (12 MB). A liveness probe needs one request and its answer, so each is
made here with the standard library. Every failure is a ``WireError`` with the reason.
"""

import http.client
import json
import socket
import struct
import urllib.parse

#: libvirt's remote program (remote_protocol.x) and the calls made of it.
LIBVIRT_PROGRAM, LIBVIRT_VERSION = 0x20008086, 1
LIBVIRT_OPEN, LIBVIRT_CLOSE, LIBVIRT_LIB_VERSION = 1, 2, 157
LIBVIRT_READ_ONLY = 1
_LIBVIRT_HEADER = struct.Struct(">IIiIII")
#: A reply larger than this is not an answer to a liveness call.
MAX_REPLY = 1 << 20


class WireError(Exception):
    """The daemon did not answer as its protocol says; ``str()`` is the reason."""


def connect(address, timeout):
    """A connected socket to ``unix:PATH``, ``tcp:HOST:PORT`` or a bare path."""
    kind, sep, rest = address.partition(":")
    try:
        if sep and kind == "tcp":
            host, _, port = rest.rpartition(":")
            return socket.create_connection((host, int(port)), timeout=timeout)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(rest if sep and kind == "unix" else address)
        except BaseException:
            sock.close()
            raise
        return sock
    except (OSError, ValueError) as err:
        raise WireError("%s: %s" % (address, getattr(err, "strerror", None) or err)) from err


def jsonrpc(address, method, params, timeout):
    """One JSON-RPC 1.0 request (OVSDB, ovs-appctl's unixctl) and its ``result``."""
    with connect(address, timeout) as sock:
        try:
            sock.sendall(json.dumps({"method": method, "params": params, "id": 0}).encode())
            reply = _read_json(sock)
        except OSError as err:
            raise WireError("%s: %s" % (address, err.strerror or err)) from err
    if reply.get("error"):
        raise WireError("%s answered %s with an error: %s" % (address, method,
                                                               reply["error"]))
    return reply.get("result")


def _read_json(sock):
    decoder, buffer = json.JSONDecoder(), b""
    while len(buffer) < MAX_REPLY:
        chunk = sock.recv(65536)
        if not chunk:
            raise WireError("the connection closed before a whole answer")
        buffer += chunk
        try:
            reply, _end = decoder.raw_decode(buffer.decode("utf-8", "replace").lstrip())
        except ValueError:
            continue
        if isinstance(reply, dict):
            return reply
        raise WireError("the answer is not a JSON-RPC object")
    raise WireError("the answer is larger than %d bytes" % MAX_REPLY)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (Docker's and supervisord's APIs)."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def http_get(url, path, timeout):
    """``GET path`` of the API at ``url`` (``unix:///socket`` or ``tcp://`` /
    ``http://host:port``): ``(status, body)``."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme in ("unix", "http+unix"):
        conn = UnixHTTPConnection(parsed.path, timeout)
    else:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply.read(MAX_REPLY)
    except (OSError, http.client.HTTPException) as err:
        raise WireError("%s: %s" % (url, getattr(err, "strerror", None) or err)) from err
    finally:
        conn.close()


def _xdr_string(text):
    data = text.encode()
    return struct.pack(">I", len(data)) + data + b"\0" * (-len(data) % 4)


def _recv(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise WireError("libvirtd closed the connection")
        data += chunk
    return data


def _libvirt_call(sock, proc, serial, args=b""):
    body = _LIBVIRT_HEADER.pack(LIBVIRT_PROGRAM, LIBVIRT_VERSION, proc, 0, serial, 0) + args
    sock.sendall(struct.pack(">I", len(body) + 4) + body)
    (length,) = struct.unpack(">I", _recv(sock, 4))
    if not _LIBVIRT_HEADER.size + 4 <= length <= MAX_REPLY:
        raise WireError("a libvirt reply of %d bytes" % length)
    reply = _recv(sock, length - 4)
    _prog, _vers, got, _type, got_serial, status = _LIBVIRT_HEADER.unpack_from(reply)
    if (got, got_serial) != (proc, serial):
        raise WireError("libvirtd answered call %d/%d to call %d/%d" % (
            got, got_serial, proc, serial))
    if status != 0:
        raise WireError("libvirtd refused call %d (status %d)" % (proc, status))
    return reply[_LIBVIRT_HEADER.size:]


def libvirt_version(socket_path, uri, timeout):
    """Open ``uri`` read-only on libvirtd's socket, ask its library version
    (``virConnectGetLibVersion``), close: the version as an int (major * 1e6 + ...)."""
    with connect(socket_path, timeout) as sock:
        try:
            _libvirt_call(sock, LIBVIRT_OPEN, 1, struct.pack(">I", 1) + _xdr_string(uri)
                          + struct.pack(">I", LIBVIRT_READ_ONLY))
            (version,) = struct.unpack(">Q", _libvirt_call(sock, LIBVIRT_LIB_VERSION, 2)[:8])
            _libvirt_call(sock, LIBVIRT_CLOSE, 3)
        except (OSError, struct.error) as err:
            raise WireError("%s: %s" % (socket_path, getattr(err, "strerror", None) or err)
                            ) from err
    return version
