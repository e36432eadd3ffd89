"""The contract of the Docker engine seam (:class:`hybridhost.virt.docker.engine.Engine`).

:class:`EngineContract` holds the assertions; a subclass provides ``make_client()``
and ``image_tarball()``. ``tests/unit/virt_docker/test_docker_engine_contract_fake.py``
runs it against :class:`FakeDockerClient`, ``tests/functional/virt_docker/
test_docker_engine_contract_real.py`` against a real dockerd: the fake cannot drift
from what the driver relies on.
"""

import os
import tempfile
import time
import uuid as uuidlib

from hybridhost import exception
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import images
from hybridhost.virt.docker import inject
from hybridhost.virt.docker import limits
from tests.contract import tarballs

HOST = "hh-contract"


class EngineContract:
    """Mixin for unittest.TestCase; subclasses set up ``self.client``."""

    def make_client(self):
        raise NotImplementedError

    def layer(self):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.client = self.make_client()
        self.engine = engine_mod.Engine(self.client, HOST)
        self.tmp = tempfile.mkdtemp(prefix="hh-contract-")
        self.addCleanup(self._cleanup)
        self.repo = "hh-contract/%s" % uuidlib.uuid4().hex[:12]
        path = os.path.join(self.tmp, "image.tar")
        self.image_id = tarballs.write_tarball(path, self.layer(), repo_tags=[self.repo + ":v1"])
        with open(path, "rb") as fileobj:
            self.engine.load_image(fileobj)
        self.uuids = []

    def _cleanup(self):
        for uuid in self.uuids:
            for host in (HOST, "hh-contract-other"):
                engine_mod.Engine(self.client, host).remove(uuid)
        for ref in (self.repo + ":v1", self.repo + ":v2", self.repo + "-commit:latest",
                    self.image_id):
            try:
                self.engine.untag_image(ref)
            except exception.HybridhostError:
                pass
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def create(self, engine=None):
        uuid = str(uuidlib.uuid4())
        self.uuids.append(uuid)
        envelope = limits.limits_for(64, 1, 64)
        (engine or self.engine).create(uuid, "instance-x", self.image_id,
                                       limits.host_config_kwargs(envelope), hostname="vm")
        return uuid

    # --- engine --------------------------------------------------------------------

    def test_check_reports_the_api_version(self):
        info = self.engine.check("1.41")
        self.assertGreaterEqual(engine_mod.version_tuple(info["ApiVersion"]), (1, 41))

    def test_check_refuses_a_newer_minimum(self):
        self.assertRaises(exception.DockerUnavailable, self.engine.check, "9.99")

    # --- containers ------------------------------------------------------------------

    def test_created_container_is_found_with_labels(self):
        uuid = self.create()
        info = self.engine.get(uuid)
        self.assertEqual((uuid, "instance-x", "created", 0),
                         (info.uuid, info.name, info.status, info.pid))
        self.assertEqual(HOST, info.labels[engine_mod.LABEL_HOST])
        self.assertEqual(self.image_id, info.image_id)
        self.assertIn(uuid, [i.uuid for i in self.engine.list_own()])

    def test_other_hosts_containers_are_invisible(self):
        other = engine_mod.Engine(self.client, "hh-contract-other")
        uuid = self.create(engine=other)
        self.assertIsNone(self.engine.find(uuid))
        self.assertNotIn(uuid, [i.uuid for i in self.engine.list_own()])
        self.assertFalse(self.engine.remove(uuid))
        self.assertIsNotNone(other.find(uuid))

    def test_own_names_lists_this_hosts_containers_running_or_not(self):
        started, created = self.create(), self.create()
        other = engine_mod.Engine(self.client, "hh-contract-other")
        foreign = self.create(engine=other)
        self.engine.start(started)
        names = self.engine.own_names()
        self.assertEqual(("instance-x", "instance-x"), (names.get(started), names.get(created)))
        self.assertNotIn(foreign, names)
        self.assertEqual({i.uuid: i.name for i in self.engine.list_own()}, names)

    def test_running_uuids_lists_only_this_hosts_running_containers(self):
        started, created = self.create(), self.create()
        other = engine_mod.Engine(self.client, "hh-contract-other")
        foreign = self.create(engine=other)
        self.engine.start(started)
        other.start(foreign)
        running = self.engine.running_uuids()
        self.assertIn(started, running)
        self.assertNotIn(created, running)
        self.assertNotIn(foreign, running)

    def test_start_pause_stop_states(self):
        uuid = self.create()
        self.engine.start(uuid)
        running = self.engine.get(uuid)
        self.assertEqual("running", running.status)
        self.assertGreater(running.pid, 1)
        self.engine.start(uuid)  # starting a running container is a no-op
        self.engine.pause(uuid)
        self.assertEqual("paused", self.engine.get(uuid).status)
        self.engine.unpause(uuid)
        self.engine.stop(uuid, timeout=1)
        stopped = self.engine.get(uuid)
        self.assertEqual(("exited", 0), (stopped.status, stopped.pid))

    def test_kill_of_a_stopped_container_is_a_no_op(self):
        uuid = self.create()
        self.engine.kill(uuid)
        self.assertEqual("created", self.engine.get(uuid).status)

    def test_pause_of_a_stopped_container_is_refused(self):
        uuid = self.create()
        self.assertRaises(exception.DockerOperationFailed, self.engine.pause, uuid)

    def test_remove_is_idempotent(self):
        uuid = self.create()
        self.engine.start(uuid)
        self.assertTrue(self.engine.remove(uuid))
        self.assertFalse(self.engine.remove(uuid))
        self.assertRaises(exception.ContainerNotFound, self.engine.get, uuid)
        self.assertRaises(exception.ContainerNotFound, self.engine.start, uuid)

    def test_create_twice_for_one_instance_is_refused(self):
        uuid = self.create()
        envelope = limits.limits_for(64, 1, 64)
        self.assertRaises(exception.DockerOperationFailed, self.engine.create, uuid, "x",
                          self.image_id, limits.host_config_kwargs(envelope))

    def test_create_from_a_missing_image(self):
        envelope = limits.limits_for(64, 1, 64)
        missing = "sha256:" + "0" * 64
        self.assertRaises(exception.ImageNotFound, self.engine.create, str(uuidlib.uuid4()), "x",
                          missing, limits.host_config_kwargs(envelope))

    def test_host_config_is_applied_as_given(self):
        uuid = self.create()
        host_config = self.client.inspect_container(self.engine.get(uuid).id)["HostConfig"]
        limits.check_host_config(host_config)
        self.assertEqual(64 * limits.MIB, host_config["Memory"])
        self.assertEqual("none", host_config["NetworkMode"])

    def test_files_put_into_a_created_container_are_read_back(self):
        uuid = self.create()
        tar = inject.tarball([inject.FileEntry("/opt/hh/a.txt", b"alpha\n", 0o640, 7, 8)])
        self.engine.put_files(uuid, tar)
        self.assertEqual(b"alpha\n", self.engine.read_file(uuid, "/opt/hh/a.txt"))
        self.assertIsNone(self.engine.read_file(uuid, "/opt/hh/missing"))
        self.assertRaises(exception.DockerOperationFailed, self.engine.put_files, uuid, tar,
                          "/no/such/dir")
        self.assertRaises(exception.ContainerNotFound, self.engine.put_files,
                          str(uuidlib.uuid4()), tar)

    def test_logs_of_a_never_started_container_are_empty(self):
        self.assertEqual(b"", self.engine.logs(self.create(), 1024))

    def test_logs_are_read_from_their_end(self):
        uuid = self.create()
        self.engine.start(uuid)
        deadline = time.monotonic() + 10
        while not self.engine.logs(uuid, 1024) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(b"console-ok\n", self.engine.logs(uuid, 11))

    def test_containers_log_to_bounded_files(self):
        uuid = self.create()
        host_config = self.client.inspect_container(self.engine.get(uuid).id)["HostConfig"]
        self.assertEqual({"Type": engine_mod.LOG_DRIVER,
                          "Config": engine_mod.DEFAULT_LOG_OPTIONS}, host_config["LogConfig"])

    def test_events_carry_action_and_labels(self):
        since = int(time.time()) - 1
        uuid = self.create()
        self.engine.start(uuid)
        self.engine.stop(uuid, timeout=1)
        stream = self.engine.events(since=since, until=int(time.time()) + 1)
        mine = [e for e in stream if e["Actor"]["Attributes"].get(engine_mod.LABEL_UUID) == uuid]
        actions = [e["Action"] for e in mine]
        self.assertIn("start", actions)
        self.assertIn("die", actions)
        self.assertLess(actions.index("start"), actions.index("die"))

    # --- images ----------------------------------------------------------------------

    def test_loaded_image_is_known_by_id_and_tag(self):
        self.assertEqual(self.image_id, self.engine.image_id(self.image_id))
        self.assertEqual(self.image_id, self.engine.image_id(self.repo + ":v1"))

    def test_tag_and_untag(self):
        self.engine.tag_image(self.image_id, self.repo, "v2")
        self.assertEqual(self.image_id, self.engine.image_id(self.repo + ":v2"))
        self.assertTrue(self.engine.untag_image(self.repo + ":v2"))
        self.assertIsNone(self.engine.image_id(self.repo + ":v2"))
        self.assertFalse(self.engine.untag_image(self.repo + ":v2"))
        self.assertEqual(self.image_id, self.engine.image_id(self.image_id))

    def test_an_untagged_stream_loads_the_image_and_none_of_its_names(self):
        path = os.path.join(self.tmp, "named.tar")
        poison = [self.repo + ":v1", self.repo + ":poison"]
        image_id = tarballs.write_tarball(path, tarballs.tiny_layer("named"), repo_tags=poison)
        self.addCleanup(self.engine.untag_image, image_id)
        self.engine.load_image(images.untagged_stream(path))
        self.assertEqual(image_id, self.engine.image_id(image_id))
        self.assertEqual(self.image_id, self.engine.image_id(self.repo + ":v1"))
        self.assertIsNone(self.engine.image_id(self.repo + ":poison"))

    def test_tagged_images_say_when_they_were_tagged(self):
        before = time.time()
        self.engine.tag_image(self.image_id, self.repo, "v2")
        self.assertIn((self.repo, self.image_id),
                      self.engine.tagged_images(self.repo.split("/")[0] + "/*", "v2"))
        self.assertNotIn((self.repo, self.image_id), self.engine.tagged_images(self.repo, "v3"))
        self.assertLess(abs(self.engine.image_tagged_at(self.image_id) - before), 5)

    def test_images_of_every_container_are_in_use(self):
        self.assertNotIn(self.image_id, self.engine.image_ids_in_use())
        self.create()
        self.assertIn(self.image_id, self.engine.image_ids_in_use())

    def test_load_of_garbage_is_refused(self):
        path = os.path.join(self.tmp, "garbage.tar")
        with open(path, "wb") as out:
            out.write(b"garbage" * 1000)
        with open(path, "rb") as fileobj:
            self.assertRaises(exception.DockerOperationFailed, self.engine.load_image, fileobj)

    def test_commit_and_save_give_a_valid_tarball(self):
        uuid = self.create()
        committed = self.engine.commit(uuid, self.repo + "-commit", "latest")
        self.assertEqual(committed, self.engine.image_id(self.repo + "-commit:latest"))
        path = os.path.join(self.tmp, "saved.tar")
        with open(path, "wb") as out:
            for chunk in self.engine.save_image(self.repo + "-commit:latest"):
                out.write(chunk)
        saved = images.inspect_tarball(path)
        self.assertEqual(committed, saved.image_id)
        self.engine.remove(uuid)
        self.assertTrue(self.engine.untag_image(self.repo + "-commit:latest"))
