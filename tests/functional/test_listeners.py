"""Who holds the box's TCP ports, read from the kernel (psutil), and the real
'hybridhost up' refusing to start supervisord on a port another process holds."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

from hybridhost import listeners
from tests.functional import base

BIN = os.path.dirname(sys.executable)

CONF = """\
[host]
name = hhp
kvm_nodename = hhp
manage_services = false

""" + base.PATHS_SECTION + """
[ovs]
of_listen_port = {port}
"""


@pytest.fixture
def held_port():
    """A port this test process listens on, on 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


class TestHolders:
    def test_the_kernel_names_this_process(self, held_port):
        base.require_root()  # other users' sockets have no pid
        holder, = listeners.holders({held_port: "[ovs] of_listen_port"})
        assert holder.pid == os.getpid()
        assert sys.executable.split("/")[-1] in holder.command or "python" in holder.command

    def test_a_closed_port_has_no_holder(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        assert listeners.holders({port: "[ovs] of_listen_port"}) == []


class TestUp:
    def test_up_refuses_and_starts_nothing(self, held_port):
        base.require_root()
        base.require(os.path.exists(os.path.join(BIN, "hybridhost")),
                     "hybridhost is not installed beside %s (pip install .)" % sys.executable)
        directory = tempfile.mkdtemp(prefix="hhp", dir="/tmp")
        conf_path = os.path.join(directory, "hybridhost.conf")
        with open(conf_path, "w") as handle:
            handle.write(CONF.format(d=directory, bin=BIN, port=held_port))
        hybridhost = [os.path.join(BIN, "hybridhost"), "--config-file", conf_path]
        try:
            proc = subprocess.run(hybridhost + ["up", "--no-wait"], capture_output=True,
                                  text=True, timeout=120, check=False)
            assert proc.returncode != 0
            assert "port %d ([ovs] of_listen_port) is held by pid %d" % (
                held_port, os.getpid()) in proc.stderr + proc.stdout
            assert "Traceback" not in proc.stderr
            assert not os.path.exists(os.path.join(directory, "run", "supervisor.sock"))
            assert not os.path.exists(os.path.join(directory, "etc"))
        finally:
            subprocess.run(hybridhost + ["down"], capture_output=True, timeout=300,
                           check=False)
            shutil.rmtree(directory, ignore_errors=True)
