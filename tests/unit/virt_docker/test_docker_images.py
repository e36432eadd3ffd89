"""Tarball validation and the image store (fake engine, real tarballs)."""

import gzip
import json
import os
import shutil
import tarfile
import tempfile
import threading
import unittest

from hybridhost import exception
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import images
from hybridhost.virt.docker import limits
from tests.contract import tarballs
from tests.unit.virt_docker import fakes
from tests.unit.virt_docker import helpers

LIMIT = images.SizeLimit(10 ** 9, "a test's limit")
HOST_CONFIG = limits.host_config_kwargs(limits.limits_for(64, 1, 64))


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
        self.assertEqual(self.image_id, self.store.ensure(None, glance_id, "docker", LIMIT))
        self.assertEqual(self.image_id, self.engine.image_id(images.local_ref(glance_id)))
        self.assertIsNone(self.engine.image_id("foreign/name:1"))
        self.assertEqual([], self.leftovers())

    def test_a_preexisting_tag_is_put_back(self):
        other = self.client.add_image("foreign/name:1")
        self.store.ensure(None, self.service.add(self.path), "docker", LIMIT)
        self.assertEqual(other, self.engine.image_id("foreign/name:1"))

    def test_loaded_image_is_reused(self):
        glance_id = self.service.add(self.path)
        self.store.ensure(None, glance_id, "docker", LIMIT)
        self.store.ensure(None, glance_id, "docker", LIMIT)
        self.assertEqual([glance_id], self.service.downloads)

    def test_concurrent_loads_of_one_image_are_serialised(self):
        glance_id = self.service.add(self.path)
        barrier = threading.Barrier(4)
        results = []

        def boot():
            barrier.wait()
            results.append(self.store.ensure(None, glance_id, "docker", LIMIT))

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
        self.assertRaises(exception.ImageInvalid, self.store.ensure, None, glance_id, "docker",
                          LIMIT)
        self.assertEqual({}, self.client.images_by_id)
        self.assertEqual([], self.leftovers())

    def test_an_engine_refusal_is_an_image_fault(self):
        glance_id = self.service.add(self.path)
        self.client.load_image = lambda data, quiet=None: iter([{"error": "no space left"}])
        self.assertRaises(exception.ImageInvalid, self.store.ensure, None, glance_id, "docker",
                          LIMIT)
        self.assertEqual([], self.leftovers())

    def test_only_docker_container_format(self):
        glance_id = self.service.add(self.path, container_format="bare")
        self.assertRaises(exception.ImageInvalid, self.store.ensure, None, glance_id, "bare",
                          LIMIT)
        self.assertEqual([], self.service.downloads)


class HostileTarballTest(unittest.TestCase):
    """What a tarball may not do: name anything, hide a second manifest, be too large."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hh-hostile-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.client = fakes.FakeDockerClient()
        self.engine = engine_mod.Engine(self.client, "h")
        self.service = helpers.MemoryImageService(self.tmp)
        self.store = images.ImageStore(self.engine, self.service, work_dir=self.tmp)

    def tarball(self, name, marker="hostile", **kwargs):
        path = os.path.join(self.tmp, name)
        return path, tarballs.write_tarball(path, tarballs.tiny_layer(marker), **kwargs)

    def leftovers(self):
        return [n for n in os.listdir(self.tmp) if n.startswith("hh-image-")]

    def test_a_tarball_naming_the_cache_never_retags_another_image(self):
        victim_path, victim_id = self.tarball("victim.tar", marker="victim")
        victim = self.service.add(victim_path)
        self.store.ensure(None, victim, "docker", LIMIT)
        victim_ref = images.local_ref(victim)
        snapshot_ref = "%s:%s" % (images.SNAPSHOT_REPO % "snap", images.TAG)
        self.client.add_image(snapshot_ref)
        poison = [victim_ref, snapshot_ref, "busybox:latest"]
        for layout in ("classic", "oci"):
            path, poison_id = self.tarball(layout + ".tar", marker=layout, layout=layout,
                                           repo_tags=poison)
            glance_id = self.service.add(path)
            self.assertEqual(poison_id, self.store.ensure(None, glance_id, "docker", LIMIT))
            self.assertEqual(victim_id, self.engine.image_id(victim_ref))
            moved = [name for name, image in self.client.tag_log if image == poison_id]
            self.assertEqual([images.local_ref(glance_id)], moved)
        self.assertIsNone(self.engine.image_id("busybox:latest"))

    def test_docker_load_is_given_no_names(self):
        path, image_id = self.tarball("oci.tar", layout="oci", repo_tags=["evil/name:1"])
        self.store.ensure(None, self.service.add(path), "docker", LIMIT)
        loaded = os.path.join(self.tmp, "loaded.tar")
        with open(loaded, "wb") as out:
            out.write(self.client.loaded_tarballs[-1])
        found = images.inspect_tarball(loaded)
        self.assertEqual((image_id, ()), (found.image_id, found.repo_tags))
        with tarfile.open(loaded) as tar:
            index = json.load(tar.extractfile("index.json"))
        self.assertEqual({}, index["manifests"][0]["annotations"])

    def test_the_stream_of_a_compressed_tarball_is_the_same_image(self):
        path, image_id = self.tarball("plain.tar", repo_tags=["a/b:c"],
                                      extra=[("repositories", b'{"a/b": {"c": "x"}}')])
        gz_path = path + ".gz"
        with open(path, "rb") as src, gzip.open(gz_path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        streamed = os.path.join(self.tmp, "streamed.tar")
        with open(streamed, "wb") as out:
            for chunk in images.untagged_stream(gz_path):
                out.write(chunk)
        found = images.inspect_tarball(streamed)
        self.assertEqual((image_id, ()), (found.image_id, found.repo_tags))
        with tarfile.open(streamed) as tar, tarfile.open(path) as original:
            self.assertEqual(sorted(set(original.getnames()) - {"repositories"}),
                             sorted(tar.getnames()))

    def test_a_second_or_linked_manifest_is_refused(self):
        path, _ = self.tarball("twice.tar", extra=[("manifest.json", b"[]")])
        self.assertRaisesRegex(ValueError, "appears twice", images.inspect_tarball, path)
        path, _ = self.tarball("link.tar", layout="no-manifest",
                               extra=[("evil.json", b"[]"), ("manifest.json", "evil.json")])
        self.assertRaisesRegex(ValueError, "not a regular file", images.inspect_tarball, path)

    def test_a_declared_size_over_the_limit_stops_before_the_download(self):
        path, _ = self.tarball("big.tar")
        glance_id = self.service.add(path)
        self.service.images[glance_id]["size"] = 3 * images.GIB
        limit = images.size_limit(2, 10)
        with self.assertRaises(exception.ImageTooLarge) as ctx:
            self.store.ensure(None, glance_id, "docker", limit)
        self.assertEqual([], self.service.downloads)
        self.assertEqual("Image %s is too large: %d bytes in Glance, the limit is %d bytes "
                         "(the flavor's root disk, 2 GiB)" % (glance_id, 3 * images.GIB,
                                                             2 * images.GIB),
                         str(ctx.exception))

    def test_the_download_is_stopped_at_the_limit_and_leaves_nothing(self):
        path, _ = self.tarball("big.tar", extra=[("pad", os.urandom(1024 * 1024))])
        glance_id = self.service.add(path)
        self.service.images[glance_id]["size"] = None  # Glance not telling
        limit = images.SizeLimit(100 * 1024, "a small limit")
        with self.assertRaises(exception.ImageTooLarge) as ctx:
            self.store.ensure(None, glance_id, "docker", limit)
        self.assertLess(ctx.exception.kwargs["size"], os.path.getsize(path))
        self.assertIn("the limit is 102400 bytes (a small limit)", str(ctx.exception))
        self.assertEqual(([], {}), (self.leftovers(), self.client.images_by_id))

    def test_content_unpacked_over_the_limit_is_refused(self):
        path, _ = self.tarball("bomb.tar", extra=[("zeros", bytes(4 * 1024 * 1024))])
        gz_path = path + ".gz"
        with open(path, "rb") as src, gzip.open(gz_path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        glance_id = self.service.add(gz_path)
        limit = images.SizeLimit(1024 * 1024, "1 MiB")
        with self.assertRaises(exception.ImageTooLarge) as ctx:
            self.store.ensure(None, glance_id, "docker", limit)
        self.assertIn("unpacked", str(ctx.exception))
        self.assertEqual(([], {}), (self.leftovers(), self.client.images_by_id))

    def test_the_limit_is_the_root_disk_else_the_configured_cap(self):
        self.assertEqual(2 * images.GIB, images.size_limit(2, 10).max_bytes)
        cap = images.size_limit(0, 10)
        self.assertEqual(10 * images.GIB, cap.max_bytes)
        self.assertIn("max_image_gb", cap.source)


class AgeOutTest(unittest.TestCase):
    """Cached images no container uses leave the cache after max_age."""

    def setUp(self):
        self.client = fakes.FakeDockerClient()
        self.clock = [1000000.0]
        self.client.now = lambda: self.clock[0]
        self.engine = engine_mod.Engine(self.client, "h")
        self.store = images.ImageStore(self.engine, None)

    def cached(self, glance_id):
        return self.client.add_image(images.local_ref(glance_id))

    def test_only_unused_old_cached_images_go(self):
        used = self.cached("used")
        self.engine.create("u1", "n", used, HOST_CONFIG)
        self.cached("old")
        self.cached("kept-by-nova")
        foreign = self.client.add_image("foreign/thing:latest")
        self.clock[0] += 3600
        self.cached("recent")
        self.clock[0] += 60
        removed = self.store.age_out(600, keep={"kept-by-nova"}, now=self.clock[0])
        self.assertEqual(["old"], removed)
        self.assertIsNone(self.engine.image_id(images.local_ref("old")))
        for glance_id in ("used", "kept-by-nova", "recent"):
            self.assertIsNotNone(self.engine.image_id(images.local_ref(glance_id)))
        self.assertEqual(foreign, self.engine.image_id("foreign/thing:latest"))

    def test_an_image_in_use_restarts_its_clock(self):
        used = self.cached("used")
        self.engine.create("u1", "n", used, HOST_CONFIG)
        self.clock[0] += 3600
        self.store.age_out(600, now=self.clock[0])
        self.engine.remove("u1")
        self.clock[0] += 300
        self.assertEqual([], self.store.age_out(600, now=self.clock[0]))
        self.clock[0] += 400
        self.assertEqual(["used"], self.store.age_out(600, now=self.clock[0]))
        self.assertEqual({}, self.client.images_by_id)

    def test_a_cache_hit_is_a_use(self):
        service = helpers.MemoryImageService(None)
        store = images.ImageStore(self.engine, service)
        self.cached("hit")
        self.clock[0] += 3600
        store.ensure(None, "hit", "docker", LIMIT)
        self.assertEqual([], store.age_out(600, now=self.clock[0] + 1))
