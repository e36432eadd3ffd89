"""A private supervisord in a temporary directory, with dummy programs (sleep loops)
and hybridhost-watcher from this tree as its event listener; for the watcher's
functional tests and bench/watcher.py. Laid out as a box: ``run/supervisor.sock``
and ``run/hybridhost-watcher.json`` under one run_root, so 'hybridhost status' with
``hybridhost.conf`` here reads both."""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from hybridhost import exception
from hybridhost import supervisor_rpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
LOOP = "sh -c 'while :; do sleep 1; done'"
WATCHER = "hybridhost-watcher:hybridhost-watcher"
#: The environment supervisord gives its listener: a watcher started by hand with it
#: leaves the box's own watcher alone, as it would itself.
AS_THE_WATCHER = {"SUPERVISOR_GROUP_NAME": "hybridhost-watcher",
                  "SUPERVISOR_PROCESS_NAME": "hybridhost-watcher"}

SUPERVISORD = """\
[unix_http_server]
file = {d}/run/supervisor.sock
chmod = 0700

[supervisord]
logfile = {d}/supervisord.log
pidfile = {d}/run/supervisord.pid
childlogdir = {d}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[eventlistener:hybridhost-watcher]
command = {python} -m hybridhost.cmd.watcher --config-file {d}/watcher.conf
environment = PYTHONPATH="{root}"
events = TICK_5,PROCESS_STATE
autorestart = true
startsecs = 1
stderr_logfile = {d}/watcher.stderr.log
"""

PROGRAM = """
[program:{name}]
command = {command}
startsecs = {startsecs}
autostart = {autostart}
stopwaitsecs = 5
stopasgroup = true
killasgroup = true
"""

WATCHER_CONF = """\
[watcher]
hang_timeout = {hang_timeout}
repair_backoff = {repair_backoff}
max_repairs = {max_repairs}
reset_after = 300
log_file = {d}/watcher.log
state_file = {d}/run/hybridhost-watcher.json
supervisor_socket = {d}/run/supervisor.sock
supervisor_timeout = 30
"""

HYBRIDHOST_CONF = """\
[paths]
config_dir = {d}/etc
state_root = {d}/state
log_root = {d}
run_root = {d}/run
"""


def program(name, command=LOOP, startsecs=1, autostart=True):
    return PROGRAM.format(name=name, command=command, startsecs=startsecs,
                          autostart="true" if autostart else "false")


class Box:
    """``programs``: [program(...)] in group ``demo``; ``needs``: {name: [needed]}."""

    def __init__(self, programs, needs=None, hang_timeout=0, repair_backoff=1, max_repairs=3,
                 settings=""):
        self.dir = tempfile.mkdtemp(prefix="hhw", dir="/tmp")
        os.makedirs(os.path.join(self.dir, "run"))
        names = [text.split("[program:")[1].split("]")[0] for text in programs]
        conf = SUPERVISORD.format(d=self.dir, python=sys.executable, root=ROOT)
        conf += "\n[group:demo]\nprograms = %s\n" % ",".join(names) + "".join(programs)
        self._write("supervisord.conf", conf)
        watcher = WATCHER_CONF.format(d=self.dir, hang_timeout=hang_timeout,
                                      repair_backoff=repair_backoff, max_repairs=max_repairs)
        watcher += settings
        for name, needed in (needs or {}).items():
            watcher += "\n[program:demo:%s]\nneeds = %s\n" % (
                name, ",".join("demo:%s" % n for n in needed))
        self._write("watcher.conf", watcher)
        self.conf = self._write("hybridhost.conf", HYBRIDHOST_CONF.format(d=self.dir))
        self.client = supervisor_rpc.SupervisorClient(
            os.path.join(self.dir, "run", "supervisor.sock"))

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as handle:
            handle.write(text)
        return path

    def start(self):
        supervisord = os.path.join(BIN, "supervisord")
        subprocess.run([supervisord, "-c", os.path.join(self.dir, "supervisord.conf")],
                       check=True)
        self.wait(lambda: self.state(WATCHER) == "RUNNING", 20, "the watcher RUNNING")
        return self

    def stop(self):
        try:
            self.client.shutdown()
        except exception.HybridhostError:
            pass
        pidfile = os.path.join(self.dir, "run", "supervisord.pid")
        self.wait(lambda: not os.path.exists(pidfile), 30, "supervisord to exit")
        shutil.rmtree(self.dir, ignore_errors=True)

    def programs(self):
        return {p.full_name: p for p in self.client.programs()}

    def state(self, name):
        try:
            return self.programs()[name].state
        except (exception.SupervisorUnreachable, exception.SupervisorFault):
            return None

    def pid(self, name):
        return self.programs()[name].pid

    def log(self):
        try:
            with open(os.path.join(self.dir, "watcher.log")) as handle:
                return handle.read()
        except FileNotFoundError:
            return ""

    def report_path(self):
        return os.path.join(self.dir, "run", "hybridhost-watcher.json")

    @staticmethod
    def wait(predicate, timeout, what, interval=0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))

    def status(self, *extra):
        """``hybridhost status`` of this tree against this box: (exit code, stdout)."""
        argv = [sys.executable, "-m", "hybridhost.cmd.main", "--config-file", self.conf,
                "status"] + list(extra)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, PYTHONPATH=ROOT), check=False)
        return proc.returncode, proc.stdout


class Ticker:
    """Plays supervisord for one listener: a TICK_5 every 5 s on its stdin."""

    def __init__(self, proc):
        self.proc, self.stop = proc, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        serial = 0
        while not self.stop.is_set():
            if self.proc.stdout.read(6) != b"READY\n":
                return
            serial += 1
            payload = b"when:%d" % time.time()
            self.proc.stdin.write(b"ver:3.0 server:supervisor serial:%d pool:hybridhost-watcher "
                                  b"poolserial:%d eventname:TICK_5 len:%d\n%s" % (
                                      serial, serial, len(payload), payload))
            self.proc.stdin.flush()
            self.proc.stdout.read(len(b"RESULT 2\nOK"))
            self.stop.wait(5)
