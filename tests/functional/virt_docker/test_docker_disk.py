"""What a container may take of the disk, against a real dockerd: its logs are rotated
and read from their end, its anonymous volumes go with it."""

import os
import uuid as uuidlib

from docker import errors as docker_errors
import fixtures

from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import limits
from tests.contract import tarballs
from tests.functional.virt_docker import base

HOST = "hhtest-disk"
LINES = 40000
#: ~60 bytes a line, ~130 as a json-file record: about 5 MB of log in all.
NOISY = ["/bin/sh", "-c",
         "i=0; while [ $i -lt %d ]; do echo line-$i-padding-padding-padding-padding-padding; "
         "i=$((i+1)); done; echo done-writing; trap 'exit 0' TERM; "
         "while :; do sleep 1 & wait $!; done" % LINES]
MIB = 1024 * 1024


class ContainerDiskTest(fixtures.TestWithFixtures):

    @classmethod
    def setUpClass(cls):
        base.require_root()
        cls.client = base.require_docker()
        if not tarballs.have_busybox():
            base.unavailable("busybox-static (/bin/busybox) is needed to build test images")
        cls.layer = tarballs.busybox_layer()

    def setUp(self):
        super().setUp()
        self.engine = engine_mod.Engine(self.client, HOST,
                                        log_options={"max-size": "1m", "max-file": "2"})
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def image(self, **kwargs):
        path = os.path.join(self.tmp, "image.tar")
        image_id = tarballs.write_tarball(path, self.layer, **kwargs)
        with open(path, "rb") as fileobj:
            self.engine.load_image(fileobj)
        self.addCleanup(self._untag, image_id)
        return image_id

    def _untag(self, image_id):
        try:
            self.client.remove_image(image_id)
        except docker_errors.APIError:
            pass

    def container(self, image_id):
        uuid = str(uuidlib.uuid4())
        self.engine.create(uuid, "disk", image_id,
                           limits.host_config_kwargs(limits.limits_for(64, 1, 64)))
        self.addCleanup(self.engine.remove, uuid)
        return uuid

    def test_logs_are_rotated_and_read_from_their_end(self):
        uuid = self.container(self.image(cmd=NOISY))
        self.engine.start(uuid)
        self.assertTrue(base.wait_for(
            lambda: self.engine.logs(uuid, 64).endswith(b"done-writing\n"), timeout=60))
        tail = self.engine.logs(uuid, 4096)
        self.assertEqual(4096, len(tail))
        self.assertIn(b"line-%d-padding" % (LINES - 1), tail)
        log_path = self.client.inspect_container(self.engine.get(uuid).id)["LogPath"]
        directory = os.path.dirname(log_path)
        logs = [n for n in os.listdir(directory) if n.startswith(os.path.basename(log_path))]
        self.assertLessEqual(len(logs), 2)
        for name in logs:
            self.assertLessEqual(os.path.getsize(os.path.join(directory, name)), 1.1 * MIB)

    def test_anonymous_volumes_go_with_the_container(self):
        uuid = self.container(self.image(volumes=["/data"]))
        mounts = self.client.inspect_container(self.engine.get(uuid).id)["Mounts"]
        names = [m["Name"] for m in mounts if m["Type"] == "volume"]
        self.assertEqual(1, len(names))
        self.assertTrue(self.engine.remove(uuid))
        self.assertRaises(docker_errors.NotFound, self.client.inspect_volume, names[0])
