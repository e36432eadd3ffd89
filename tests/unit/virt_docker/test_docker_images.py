"""Tarball validation and the image store (fake engine, real tarballs)."""

import os
import shutil
import tempfile
import threading
import unittest

from hybridhost import exception
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import images
from tests.contract import tarballs
from tests.unit.virt_docker import fakes
from tests.unit.virt_docker import helpers


class TarballTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hh-tar-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.layer = tarballs.tiny_layer()

    def write(self, name="t.tar", **kwargs):
        path = os.path.join(self.tmp, name)
        return path, tarballs.write_tarball(path, self.layer, **kwargs)

    def refused(self, path, fragment):
        with self.assertRaises(ValueError) as ctx:
            images.inspect_tarball(path)
        self.assertIn(fragment, str(ctx.exception))

    def test_classic_layout(self):
        path, image_id = self.write(repo_tags=["a/b:c"])
        found = images.inspect_tarball(path)
        self.assertEqual((image_id, ("a/b:c",)), (found.image_id, found.repo_tags))
        self.assertTrue(found.config.endswith(".json"))

    def test_oci_layout_of_newer_docker(self):
        path, image_id = self.write(layout="oci")
        found = images.inspect_tarball(path)
        self.assertEqual(image_id, found.image_id)
        self.assertTrue(found.config.startswith("blobs/sha256/"))
        self.assertEqual((), found.repo_tags)

    def test_missing_manifest(self):
        self.refused(self.write(layout="no-manifest")[0], "no manifest.json")

    def test_zero_or_several_images(self):
        self.refused(self.write(manifest=[])[0], "exactly one image, it holds 0")
        entry = {"Config": "x.json", "Layers": []}
        self.refused(self.write(manifest=[entry, entry])[0], "exactly one image, it holds 2")

    def test_entries_escaping_the_archive(self):
        self.refused(self.write(extra=[("../etc/passwd", b"x")])[0], "escapes the archive")
        self.refused(self.write(extra=[("/abs", b"x")])[0], "escapes the archive")
        self.refused(self.write(extra=[("link", "../../etc/shadow")])[0], "escapes the archive")
        self.refused(self.write(extra=[("link", "/etc/shadow")])[0], "escapes the archive")

    def test_missing_config_or_layer(self):
        self.refused(self.write(manifest=[{"Config": "nope.json", "Layers": []}])[0],
                     "not in the tarball")

    def test_config_digest_must_match(self):
        path, _ = self.write()
        found = images.inspect_tarball(path)
        bad_hex = "0" * 64
        manifest = [{"Config": bad_hex + ".json", "Layers": list(found.layers)}]
        self.refused(self.write("bad.tar", manifest=manifest,
                                extra=[(bad_hex + ".json", b"{}")])[0], "has digest")

    def test_not_a_tar(self):
        path = os.path.join(self.tmp, "x.tar")
        with open(path, "wb") as out:
            out.write(b"\x00garbage" * 200)
        self.refused(path, "not")


class ImageStoreTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hh-store-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.client = fakes.FakeDockerClient()
        self.engine = engine_mod.Engine(self.client, "h")
        self.service = helpers.MemoryImageService(self.tmp)
        self.store = images.ImageStore(self.engine, self.service, work_dir=self.tmp)
        self.path = os.path.join(self.tmp, "img.tar")
        self.image_id = tarballs.write_tarball(self.path, tarballs.tiny_layer(),
                                               repo_tags=["foreign/name:1"])

    def leftovers(self):
        return [n for n in os.listdir(self.tmp) if n.startswith("hh-image-")]

    def test_load_tags_by_glance_id_and_undoes_the_tarball_tags(self):
        glance_id = self.service.add(self.path)
        self.assertEqual(self.image_id, self.store.ensure(None, glance_id, "docker"))
        self.assertEqual(self.image_id, self.engine.image_id(images.local_ref(glance_id)))
        self.assertIsNone(self.engine.image_id("foreign/name:1"))
        self.assertEqual([], self.leftovers())

    def test_a_preexisting_tag_is_put_back(self):
        other = self.client.add_image("foreign/name:1")
        self.store.ensure(None, self.service.add(self.path), "docker")
        self.assertEqual(other, self.engine.image_id("foreign/name:1"))

    def test_loaded_image_is_reused(self):
        glance_id = self.service.add(self.path)
        self.store.ensure(None, glance_id, "docker")
        self.store.ensure(None, glance_id, "docker")
        self.assertEqual([glance_id], self.service.downloads)

    def test_concurrent_loads_of_one_image_are_serialised(self):
        glance_id = self.service.add(self.path)
        barrier = threading.Barrier(4)
        results = []

        def boot():
            barrier.wait()
            results.append(self.store.ensure(None, glance_id, "docker"))

        threads = [threading.Thread(target=boot) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([self.image_id] * 4, results)
        self.assertEqual([glance_id], self.service.downloads)

    def test_a_refused_tarball_leaves_nothing(self):
        bad = os.path.join(self.tmp, "bad.tar")
        tarballs.write_tarball(bad, tarballs.tiny_layer(), layout="no-manifest")
        glance_id = self.service.add(bad)
        self.assertRaises(exception.ImageInvalid, self.store.ensure, None, glance_id, "docker")
        self.assertEqual({}, self.client.images_by_id)
        self.assertEqual([], self.leftovers())

    def test_an_engine_refusal_is_an_image_fault(self):
        glance_id = self.service.add(self.path)
        self.client.load_image = lambda data, quiet=None: iter([{"error": "no space left"}])
        self.assertRaises(exception.ImageInvalid, self.store.ensure, None, glance_id, "docker")
        self.assertEqual([], self.leftovers())

    def test_only_docker_container_format(self):
        glance_id = self.service.add(self.path, container_format="bare")
        self.assertRaises(exception.ImageInvalid, self.store.ensure, None, glance_id, "bare")
        self.assertEqual([], self.service.downloads)
