"""The Docker driver against a real dockerd: Glance tarballs the fake engine cannot judge.

The behaviours every driver shows are in tests/contract/driver_contract.py.
"""

import gzip
import io
import os
import tarfile
import time
import uuid as uuidlib

import docker
from nova import exception as nova_exception
from nova.compute import power_state

from tests.contract import tarballs
from tests.functional.virt_docker import base


class ImageTest(base.DriverTestCase):

    def test_broken_tarballs_give_a_clear_fault_and_leave_nothing(self):
        layer = tarballs.tiny_layer()
        cases = {
            "no-manifest": dict(layout="no-manifest"),
            "two-images": dict(manifest=[{"Config": "a.json", "Layers": []}] * 2),
            "escape": dict(extra=[("../evil", b"x")]),
        }
        image_ids = []
        for name, kwargs in cases.items():
            path = os.path.join(self.tmp, name + ".tar")
            image_ids.append(tarballs.write_tarball(path, layer, **kwargs))
            glance_id = self.add_image(path)
            instance = self.make_instance(glance_id)
            with self.assertRaises(nova_exception.ImageUnacceptable) as ctx:
                self.driver.spawn(self.context, instance, self.image_meta(glance_id), [], None, {},
                                  network_info=[])
            self.assertIn(glance_id, str(ctx.exception))
            self.assertFalse(self.driver.instance_exists(instance))
        present = {image["Id"] for image in self.docker.images(all=True)}
        self.assertEqual(set(), present & set(image_ids))
        for glance_id in self._glance_ids:
            self.assertEqual([], self.docker.images(name="nova-glance/" + glance_id))
        self.assertEqual([], [f for f in os.listdir("/tmp") if f.startswith("hh-image-")])

    def test_not_a_tar_at_all(self):
        path = os.path.join(self.tmp, "garbage.tar")
        with open(path, "wb") as out:
            out.write(b"this is not a tarball" * 100)
        glance_id = self.add_image(path)
        instance = self.make_instance(glance_id)
        self.assertRaises(nova_exception.ImageUnacceptable, self.driver.spawn, self.context,
                          instance, self.image_meta(glance_id), [], None, {}, network_info=[])

    def test_a_layer_bomb_over_the_root_disk_is_refused_before_docker_load(self):
        """A few MiB of gzip that Docker would unpack to more than the flavor's 1 GiB."""
        path = os.path.join(self.tmp, "bomb.tar")
        image_id = tarballs.write_tarball(path, _gzip_layer_of_zeros(GIB + 64 * MIB))
        self.assertLess(os.path.getsize(path), 64 * MIB)
        glance_id = self.add_image(path)
        instance = self.make_instance(glance_id)
        started = time.monotonic()
        with self.assertRaises(nova_exception.ImageUnacceptable) as ctx:
            self.driver.spawn(self.context, instance, self.image_meta(glance_id), [], None, {},
                              network_info=[])
        print("\nlayer bomb refused in %.2f s" % (time.monotonic() - started))
        self.assertIn("in its layers once decompressed", str(ctx.exception))
        self.assertFalse(self.driver.instance_exists(instance))
        self.assertNotIn(image_id, {image["Id"] for image in self.docker.images(all=True)})

    def test_oci_layout_with_foreign_repo_tag_boots_and_tag_is_not_kept(self):
        """Newer Docker's OCI layout loads; the tarball's own RepoTags do not leak."""
        path = os.path.join(self.tmp, "oci.tar")
        tag = "hhtest-foreign/name:%s" % uuidlib.uuid4().hex[:8]
        tarballs.write_tarball(path, self.layer, layout="oci", repo_tags=[tag])
        glance_id = self.add_image(path)
        vm = self.spawn(glance_id, [])
        self.assertEqual(power_state.RUNNING, self.driver.get_info(vm).state)
        self.assertRaises(docker.errors.NotFound, self.docker.inspect_image, tag)
        image = self.docker.inspect_image("nova-glance/%s:latest" % glance_id)
        self.assertEqual(self.tarball_image_id, image["Id"])

    def test_a_tarball_naming_the_cache_retags_nothing(self):
        """Its RepoTags name a cached image, a snapshot and a foreign image: after the boot
        each still names what it did, and Docker's event log shows the hostile image was
        only ever tagged with its own Glance ID."""
        victim = self.add_image()
        self.spawn(victim, [])
        victim_ref = "nova-glance/%s:latest" % victim
        snapshot_ref = "nova-snapshot/%s:latest" % uuidlib.uuid4()
        foreign_ref = "hhtest-poison/%s:1" % uuidlib.uuid4().hex[:8]
        path = os.path.join(self.tmp, "poison.tar")
        poison_id = tarballs.write_tarball(path, self.layer, cmd=["/bin/sleep", "3600"],
                                           repo_tags=[victim_ref, snapshot_ref, foreign_ref])
        glance_id = self.add_image(path)
        since = int(time.time()) - 1
        self.spawn(glance_id, [])
        self.assertEqual(self.tarball_image_id, self.docker.inspect_image(victim_ref)["Id"])
        for ref in (snapshot_ref, foreign_ref):
            self.assertRaises(docker.errors.NotFound, self.docker.inspect_image, ref)
        events = self.docker.events(since=since, until=int(time.time()) + 1, decode=True,
                                    filters={"type": "image", "event": "tag"})
        names = [e["Actor"]["Attributes"].get("name") for e in events
                 if e["Actor"]["ID"] == poison_id]
        self.assertEqual(["nova-glance/%s:latest" % glance_id], names)

    def test_same_image_is_loaded_once_and_reused(self):
        glance_id = self.add_image()
        downloads = []
        real = self.images.download
        self.images.download = lambda *a: (downloads.append(a[1]), real(*a))
        self.spawn(glance_id, [])
        self.spawn(glance_id, [])
        self.assertEqual([glance_id], downloads)

    def test_a_snapshot_keeps_the_containers_files(self):
        """Uploaded as a docker-save tarball, loaded back for real, the clone has the file."""
        glance_id = self.add_image()
        vm = self.spawn(glance_id, [])
        self.assertEqual(0, self.exec(vm, "touch", "/tmp/snapshot-marker")[0])
        snapshot_id = str(uuidlib.uuid4())
        self._glance_ids.append(snapshot_id)
        self.driver.snapshot(self.context, vm, snapshot_id, lambda **kw: None)
        with tarfile.open(self.images.images[snapshot_id]["path"]) as tar:
            self.assertIn("manifest.json", tar.getnames())
        self.docker.remove_image("nova-glance/%s:latest" % snapshot_id)  # force a real load
        clone = self.spawn(snapshot_id, [])
        self.assertEqual(0, self.exec(clone, "cat", "/tmp/snapshot-marker")[0])


MIB = 1024 * 1024
GIB = 1024 * MIB


def _gzip_layer_of_zeros(size):
    """A gzip-compressed layer tar holding one file of ``size`` zero bytes."""
    info = tarfile.TarInfo("zeros")
    info.size = size
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as layer:
        layer.write(info.tobuf())
        zeros = bytes(MIB)
        for _ in range(size // MIB):
            layer.write(zeros)
        layer.write(bytes(size % MIB + (-size % tarfile.BLOCKSIZE) + 2 * tarfile.BLOCKSIZE))
    return out.getvalue()
