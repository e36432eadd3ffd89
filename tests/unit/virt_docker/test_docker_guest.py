"""The owner of a key file at an image-chosen path, and what the driver refuses."""

import os

from hybridhost import exception
from hybridhost.virt.docker import guest
from hybridhost.virt.docker import inject
from hybridhost.virt.docker import limits
from tests.contract import tarballs
from tests.unit.virt_docker import helpers

KEYS = "/home/app/.ssh/authorized_keys"
PASSWD = b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"
GROUP = b"root:x:0:\nstaff:x:50:\n"


class ImageUserTest(helpers.DriverUnitTestCase):
    """Docker's ``Config.User`` as the key file's owner: numbers as they are, names
    from the container's /etc/passwd and /etc/group."""

    def container(self, user):
        image_id = self.client.add_image(config={"User": user})
        uuid = "c0ffee00-0000-4000-8000-%012d" % len(self.client.containers_by_id)
        self.engine.create(uuid, "instance-x", image_id,
                           limits.host_config_kwargs(limits.limits_for(64, 1, 64)))
        self.engine.put_files(uuid, inject.tarball([
            inject.FileEntry("/etc/passwd", PASSWD, 0o644),
            inject.FileEntry("/etc/group", GROUP, 0o644)]))
        return uuid, image_id

    def test_users_and_groups(self):
        files = guest.GuestFiles(self.engine)
        for user, expected in (("", (0, 0)), ("app", (1000, 1001)), ("1000", (1000, 1001)),
                               ("2000", (2000, 0)), ("app:staff", (1000, 50)),
                               ("2000:60", (2000, 60))):
            self.assertEqual(expected, files.image_user(*self.container(user)), user)

    def test_an_unknown_user_name_is_refused(self):
        files = guest.GuestFiles(self.engine)
        self.assertRaises(exception.GuestFilesRefused, files.image_user,
                          *self.container("nobody"))


class SpawnKeysTest(helpers.DriverUnitTestCase):

    def spawn_with_property(self, path, user="1000:1001"):
        tarball = os.path.join(self.tmp, "user.tar")
        tarballs.write_tarball(tarball, tarballs.tiny_layer(), user=user)
        instance = self.instance()
        instance.system_metadata = {"image_" + inject.KEYS_PATH_PROPERTY: path}
        self.driver.spawn(self.context, instance, self.image_meta(self.images.add(tarball)), [],
                          None, {}, network_info=[])
        return self.client.files_by_id[self.engine.get(instance.uuid).id]

    def test_the_image_property_moves_the_keys_to_the_image_user(self):
        files = self.spawn_with_property(KEYS)
        self.assertEqual((0o600, 1000, 1001), files[KEYS][1:])
        self.assertEqual((None, 0o700, 1000, 1001), files["/home/app/.ssh"])
        self.assertNotIn(inject.ROOT_KEYS_PATH, files)

    def test_the_root_default_ignores_the_image_user(self):
        files = self.spawn_with_property(inject.ROOT_KEYS_PATH)
        self.assertEqual((0o600, 0, 0), files[inject.ROOT_KEYS_PATH][1:])

    def test_an_x509_keypair_writes_no_authorized_keys(self):
        instance = self.instance()
        instance.key_data = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        self.driver.spawn(self.context, instance, self.image_meta(self.images.add(self.tarball)),
                          [], None, {}, network_info=[])
        files = self.client.files_by_id[self.engine.get(instance.uuid).id]
        self.assertNotIn(inject.ROOT_KEYS_PATH, files)
        self.assertIn(inject.CONFIG_DRIVE_PATH + "/openstack/latest/meta_data.json", files)
