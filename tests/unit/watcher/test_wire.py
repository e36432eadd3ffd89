"""The daemons' protocols as the watcher speaks them, against small servers on unix
sockets that answer as OVSDB, Docker and libvirtd do (the real daemons:
tests/functional/test_watcher_probes.py and the e2e libvirt test)."""

import json
import os
import socket
import struct
import threading

import pytest

from hybridhost.watcher import probes
from hybridhost.watcher import wire


def _serve(path, handle):
    """Accept one connection on ``path`` in a thread and give it to ``handle``."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def run():
        conn, _ = server.accept()
        with conn:
            handle(conn)
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _jsonrpc_server(result=None, error=None, split=False):
    def handle(conn):
        request = json.loads(conn.recv(65536))
        reply = json.dumps({"id": request["id"], "result": result, "error": error}).encode()
        if split:
            conn.sendall(reply[:5])
            conn.sendall(reply[5:])
        else:
            conn.sendall(reply)
    return handle


def test_ovsdb_that_serves_open_vswitch_answers(tmp_path):
    path = str(tmp_path / "db.sock")
    _serve(path, _jsonrpc_server(["_Server", "Open_vSwitch"], split=True))
    assert probes.ovsdb("unix:" + path, 2) is None


def test_ovsdb_without_the_database_or_with_an_error_is_a_reason(tmp_path):
    path = str(tmp_path / "db.sock")
    _serve(path, _jsonrpc_server(["_Server"]))
    assert probes.ovsdb("unix:" + path, 2) == "unix:%s does not serve Open_vSwitch" % path
    os.unlink(path)
    _serve(path, _jsonrpc_server(error="unknown method"))
    assert "with an error: unknown method" in probes.ovsdb("unix:" + path, 2)


def test_a_daemon_that_does_not_answer_in_time_is_a_reason(tmp_path):
    path = str(tmp_path / "db.sock")
    release = threading.Event()
    _serve(path, lambda conn: release.wait(5))
    try:
        reason = probes.ovsdb("unix:" + path, 0.3)
    finally:
        release.set()
    assert reason == "unix:%s: timed out" % path


def test_a_connection_closed_before_the_answer_is_a_reason(tmp_path):
    path = str(tmp_path / "ctl")
    _serve(path, lambda conn: conn.recv(100))
    assert probes.unixctl(path, 2) == "the connection closed before a whole answer"


def test_docker_answers_ping_over_its_socket(tmp_path):
    path = str(tmp_path / "docker.sock")

    def handle(conn):
        request = conn.recv(65536).decode()
        assert request.startswith("GET /_ping HTTP/1.1")
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
    _serve(path, handle)
    assert probes.docker("unix://" + path, 2) is None


def test_docker_answering_an_error_status_is_a_reason(tmp_path):
    path = str(tmp_path / "docker.sock")
    _serve(path, lambda conn: (conn.recv(65536), conn.sendall(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom")))
    assert probes.docker("unix://" + path, 2) == "unix://%s: /_ping answered 500 boom" % path


def _libvirt_server(status=0, version=9000000):
    def handle(conn):
        for _ in range(3):
            (length,) = struct.unpack(">I", conn.recv(4))
            body = conn.recv(length - 4)
            prog, vers, proc, _type, serial, _status = struct.unpack(">IIiIII", body[:24])
            assert (prog, vers) == (wire.LIBVIRT_PROGRAM, wire.LIBVIRT_VERSION)
            if proc == wire.LIBVIRT_OPEN:
                assert b"qemu:///system" in body
            payload = struct.pack(">Q", version) if proc == wire.LIBVIRT_LIB_VERSION else b""
            reply = struct.pack(">IIiIII", prog, vers, proc, 1, serial,
                                status if proc == wire.LIBVIRT_OPEN else 0) + payload
            conn.sendall(struct.pack(">I", len(reply) + 4) + reply)
            if status:
                return
    return handle


def test_libvirtd_opens_read_only_and_tells_its_version(tmp_path):
    path = str(tmp_path / "libvirt-sock-ro")
    _serve(path, _libvirt_server())
    assert wire.libvirt_version(path, "qemu:///system", 2) == 9000000
    os.unlink(path)
    _serve(path, _libvirt_server())
    assert probes.libvirt("qemu+unix:///system?socket=%s" % path, 2) is None


def test_libvirtd_refusing_the_open_is_a_reason(tmp_path):
    path = str(tmp_path / "libvirt-sock-ro")
    _serve(path, _libvirt_server(status=1))
    reason = probes.libvirt("qemu+unix:///system?socket=%s" % path, 2)
    assert reason == "libvirtd refused call 1 (status 1)"


@pytest.mark.parametrize("uri,reason", [
    ("qemu+ssh://host/system", "only a local libvirt URI is probed"),
    ("qemu:///session", "only a system URI is probed")])
def test_libvirt_uris_that_are_not_probed_say_why(uri, reason):
    assert probes.libvirt(uri, 1) == "%s: %s" % (uri, reason)
