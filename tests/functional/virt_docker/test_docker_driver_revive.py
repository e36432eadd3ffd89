"""dockerd restarted without live-restore, on a private dockerd, the real OVS and
privsep daemon: dockerd stops every container as it stops; once it answers again the
driver starts those nova records running, with their network, and leaves the ones nova
stopped. The time from the restart's start to the network back is printed
(``pytest -s``).

The box's own dockerd always runs with ``--live-restore``, so this test starts a
dockerd of its own (its own socket, data-root and exec-root; no live-restore) and
stops it with SIGTERM, as supervisord does.
"""

import os
import shutil
import signal
import subprocess
import time

import docker

from tests.contract import nova_objects
from tests.functional.virt_docker import base
from tests.functional.virt_docker import test_docker_driver_heal as heal

RUN_DIR = "/run/hh-test-dockerd-%d" % os.getpid()
DATA_ROOT = "/var/lib/hh-test-dockerd-%d" % os.getpid()
URL = "unix://%s/docker.sock" % RUN_DIR
REVIVE_BOUND_S = 30.0


class PrivateDockerd:
    """A dockerd without live-restore, started and stopped like supervisord does."""

    def __init__(self):
        self.proc = None
        os.makedirs(RUN_DIR, exist_ok=True)
        self.log = open(os.path.join(RUN_DIR, "dockerd.log"), "ab")  # noqa: SIM115

    def start(self):
        self.proc = subprocess.Popen(
            ["dockerd", "--host", URL, "--data-root", DATA_ROOT,
             "--exec-root", os.path.join(RUN_DIR, "exec"),
             "--pidfile", os.path.join(RUN_DIR, "docker.pid"),
             "--bridge=none", "--iptables=false", "--ip-masq=false"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        client = docker.APIClient(base_url=URL, version="1.41", timeout=10)
        if not base.wait_for(lambda: _answers(client), timeout=60, interval=0.2):
            base.unavailable("the private dockerd did not answer within 60 s")
        return client

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)

    def remove(self):
        self.stop()
        self.log.close()
        # dockerd leaves its netns directory mounted (and a sandbox in it) behind.
        with open("/proc/self/mounts") as mounts:
            points = [line.split()[1] for line in mounts if line.split()[1].startswith(RUN_DIR)]
        for point in sorted(points, reverse=True):
            subprocess.run(["umount", "--lazy", point], check=False)
        shutil.rmtree(DATA_ROOT, ignore_errors=True)
        shutil.rmtree(RUN_DIR, ignore_errors=True)


def _answers(client):
    try:
        return client.ping()
    except Exception:  # noqa: BLE001 - not up yet
        return False


class ReviveTest(base.DriverTestCase):

    host = "hhtest-revive-docker"
    cap_add = heal.HealTest.cap_add
    _network_back = heal.HealTest._network_back  # noqa: SLF001 - the same check as heal

    @classmethod
    def setUpClass(cls):
        base.require_root()
        if shutil.which("dockerd") is None:
            base.unavailable("dockerd is not installed")
        cls.dockerd = PrivateDockerd()
        private = cls.dockerd.start()
        super().setUpClass()
        cls.docker = private

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.dockerd.remove()

    def setUp(self):
        super().setUp()
        self.flags(group="hybridhost_docker", docker_url=URL)
        self.recorded_running = set()
        self.driver = self.make_driver()

    def make_driver(self):
        driver = super().make_driver()
        # nova's database, as far as this test goes: which instances it records running.
        driver._recorded_running = lambda uuids: [  # noqa: SLF001 - the seam to nova's DB
            uuid for uuid in uuids if uuid in self.recorded_running]
        return driver

    def test_a_restart_without_live_restore_brings_running_instances_back(self):
        self.driver.init_host(self.host)
        image = self.add_image()
        network_info = nova_objects.ports(self.bridge, [heal.SUBNET])
        running = self.spawn(image, network_info)
        stopped = self.spawn(image, [])
        self.driver.power_off(stopped)
        self.recorded_running.add(running.uuid)
        began = time.monotonic()
        self.dockerd.stop()
        stopped_s = time.monotonic() - began
        self.dockerd.start()
        up_s = time.monotonic() - began
        self.assertTrue(base.wait_for(lambda: self._network_back(running, network_info),
                                      timeout=REVIVE_BOUND_S, interval=0.05))
        back_s = time.monotonic() - began
        print("\ndockerd without live-restore: stopped in %.2f s, answering %.2f s, "
              "network back %.2f s after the restart began" % (stopped_s, up_s, back_s))
        self.assertEqual(0, heal.echo_as_nobody(self.driver.engine.get(running.uuid).pid,
                                                "10.78.0.10")[0])
        self.assertEqual("exited", self.driver.engine.get(stopped.uuid).status)
