"""What the Docker side may take of the disk: image size, logs, volumes, the image cache."""

import time

from nova import exception as nova_exception

from hybridhost.virt.docker import conf as docker_conf
from hybridhost.virt.docker import driver as driver_mod
from hybridhost.virt.docker import images
from tests.unit.virt_docker import helpers


class ImageSizeTest(helpers.DriverUnitTestCase):

    def boot_declaring(self, size, root_gb):
        glance_id = self.images.add(self.tarball)
        self.images.images[glance_id]["size"] = size
        instance = self.instance()
        instance.flavor.root_gb = root_gb
        with self.assertRaises(nova_exception.ImageUnacceptable) as ctx:
            self.driver.spawn(self.context, instance, self.image_meta(glance_id), [], None, {},
                              network_info=[])
        self.assertEqual([], self.engine.list_own())
        self.assertEqual([], self.images.downloads)
        return str(ctx.exception)

    def test_an_image_larger_than_the_root_disk_is_refused(self):
        message = self.boot_declaring(2 * images.GIB, root_gb=1)
        self.assertIn("%d bytes in Glance, the limit is %d bytes (the flavor's root disk, "
                      "1 GiB)" % (2 * images.GIB, images.GIB), message)

    def test_without_a_root_disk_the_configured_cap_applies(self):
        self.conf.config(group="hybridhost_docker", max_image_gb=3)
        message = self.boot_declaring(4 * images.GIB, root_gb=0)
        self.assertIn("the limit is %d bytes ([hybridhost_docker] max_image_gb, 3 GiB"
                      % (3 * images.GIB), message)


class ContainerDiskTest(helpers.DriverUnitTestCase):

    def test_the_console_log_is_read_from_its_tail(self):
        instance = self.spawn()
        container_id = self.engine.get(instance.uuid).id
        self.client.logs_by_id[container_id] = b"".join(
            b"line %08d of a long console log\n" % i for i in range(200000))
        output = self.driver.get_console_output(self.context, instance)
        self.assertEqual(driver_mod.CONSOLE_LOG_MAX_BYTES, len(output))
        self.assertTrue(output.endswith(b"line 00199999 of a long console log\n"))
        self.assertLessEqual(self.client.log_reads[-1], driver_mod.CONSOLE_LOG_MAX_BYTES // 16)

    def test_destroy_removes_the_containers_anonymous_volumes(self):
        instance = self.spawn()
        container_id = self.engine.get(instance.uuid).id
        self.driver.destroy(self.context, instance, [])
        self.assertEqual([container_id], self.client.removed_volumes_of)

    def test_log_options_come_from_the_config(self):
        self.conf.config(group="hybridhost_docker", log_max_size_mb=5, log_max_files=2)
        self.assertEqual({"max-size": "5m", "max-file": "2"},
                         docker_conf.log_options(self.driver.conf))


class ImageCacheTest(helpers.DriverUnitTestCase):

    def setUp(self):
        super().setUp()
        self.client.now = lambda: time.time() - 3600  # every tag an hour old
        self.conf.config(group="image_cache", remove_unused_original_minimum_age_seconds=600)

    def cached_images(self):
        return {repository for repository, _ in self.engine.tagged_images("nova-glance/*",
                                                                            images.TAG)}

    def test_nova_can_ask(self):
        self.assertTrue(driver_mod.DockerDriver.capabilities["has_imagecache"])

    def test_unused_images_age_out_the_others_stay(self):
        gone = self.spawn(glance_id=self.images.add(self.tarball))
        self.driver.destroy(self.context, gone, [])
        other = self.images.add(helpers.tarball_with_marker(self.tmp, "other"))
        running = self.spawn(glance_id=other)
        self.driver.manage_image_cache(self.context, [running])
        self.assertEqual({images.GLANCE_REPO % other}, self.cached_images())

    def test_nothing_goes_when_nova_says_so(self):
        self.driver.destroy(self.context, self.spawn(), [])
        self.conf.config(group="image_cache", remove_unused_base_images=False)
        self.driver.manage_image_cache(self.context, [])
        self.assertEqual(1, len(self.cached_images()))
