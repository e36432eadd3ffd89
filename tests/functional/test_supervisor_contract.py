"""The supervisord seam's contract against a REAL supervisord on a unix socket."""

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from hybridhost import exception
from hybridhost import supervisor_rpc
from tests.contract import supervisor_contract
from tests.functional import base

CONF = """\
[unix_http_server]
file = {d}/s.sock
chmod = 0700

[supervisord]
logfile = {d}/supervisord.log
pidfile = {d}/supervisord.pid
childlogdir = {d}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[group:demo]
programs = sleeper,quitter,missing

[program:sleeper]
command = sleep 1000
startsecs = 1

[program:quitter]
command = /bin/false
autostart = false
autorestart = false
startsecs = 1
startretries = 0

[program:missing]
command = /nonexistent/hybridhost-no-such-command
autostart = false
autorestart = false
"""


class TestRealSupervisorContract(supervisor_contract.SupervisorClientContract):
    @pytest.fixture(autouse=True)
    def _client(self):
        supervisord = os.path.join(os.path.dirname(sys.executable), "supervisord")
        base.require(os.path.exists(supervisord), "supervisord is not installed beside "
                     "this Python (%s)" % supervisord)
        directory = tempfile.mkdtemp(prefix="hhs", dir="/tmp")
        path = os.path.join(directory, "supervisord.conf")
        with open(path, "w") as handle:
            handle.write(CONF.format(d=directory))
        subprocess.run([supervisord, "-c", path], check=True)
        self.client = supervisor_rpc.SupervisorClient(os.path.join(directory, "s.sock"))
        self.pidfile = os.path.join(directory, "supervisord.pid")
        self.wait_running(supervisor_contract.SLEEPER)
        yield
        try:
            self.client.shutdown()
        except exception.SupervisorUnreachable:  # already shut down by the test
            pass
        self.wait_gone()
        shutil.rmtree(directory, ignore_errors=True)

    def _running(self, name):
        try:
            return self.program(name).running
        except exception.SupervisorUnreachable:
            return False

    def wait_running(self, name):
        base.wait_until(lambda: self._running(name), 15, what="%s RUNNING" % name)

    def wait_gone(self):
        base.wait_until(lambda: not os.path.exists(self.pidfile), 15,
                        what="supervisord to exit")

    def test_socket_is_owner_only(self):
        sock = self.client.url[len("unix://"):]
        assert os.stat(sock).st_mode & 0o777 == 0o700
