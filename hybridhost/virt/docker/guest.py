"""The instance's keypair and config-drive tree, put into its created container.

nova's own builder makes the tree: :class:`nova.api.metadata.base.InstanceMetadata`
and its ``metadata_for_config_drive()``, as the libvirt driver's config drive does
(``_create_configdrive``), minus the admin password: nova's metadata service never
serves it and the files are readable by every user in the container, like the
metadata service. :mod:`.inject` turns both into one tar for ``put_archive``.
"""

import logging

from nova.api.metadata import base as instance_metadata

from hybridhost import exception
from hybridhost.virt.docker import inject

LOG = logging.getLogger(__name__)

IMAGE_PROPERTY_PREFIX = "image_"  # nova keeps every image property in system_metadata


def keys_path(instance):
    """Where the instance's key goes: the image property, checked, or root's file."""
    wanted = (instance.system_metadata or {}).get(
        IMAGE_PROPERTY_PREFIX + inject.KEYS_PATH_PROPERTY)
    if not wanted:
        return inject.ROOT_KEYS_PATH
    try:
        return inject.check_guest_path(wanted)
    except ValueError as err:
        raise exception.GuestFilesRefused(
            uuid=instance.uuid, reason="image property %s: %s" % (
                inject.KEYS_PATH_PROPERTY, err)) from None


class GuestFiles:
    """Writes an instance's files into its container (created, not started)."""

    def __init__(self, engine):
        self.engine = engine

    def inject(self, instance, image_id, injected_files, network_info):
        keys = self._key_entries(instance, image_id)
        tree = inject.config_drive_entries(
            self.config_drive(instance, injected_files, network_info))
        self.engine.put_files(instance.uuid, inject.tarball(keys + tree))
        LOG.info("Instance %(uuid)s: config drive (%(count)d entries) and %(keys)s put into "
                 "its container", {"uuid": instance.uuid, "count": len(tree),
                                   "keys": keys[-1].path if keys else "no key"})

    @staticmethod
    def config_drive(instance, injected_files, network_info):
        """(path, data) pairs of nova's config drive for ``instance``."""
        metadata = instance_metadata.InstanceMetadata(
            instance, content=injected_files or [], extra_md={}, network_info=network_info)
        return list(metadata.metadata_for_config_drive())

    def _key_entries(self, instance, image_id):
        key = (instance.key_data or "").strip()
        if not key:
            return []
        if "\n" in key:
            LOG.warning("Instance %s: its keypair is not one ssh public key (x509?); "
                        "no authorized_keys written", instance.uuid)
            return []
        path = keys_path(instance)
        uid, gid = (0, 0) if path == inject.ROOT_KEYS_PATH else self.image_user(
            instance.uuid, image_id)
        return inject.keys_entries(key, path, uid, gid)

    def image_user(self, uuid, image_id):
        """(uid, gid) of the image's ``USER`` (root when unset), names looked up in the
        container's /etc/passwd and /etc/group."""
        config = self.engine.inspect_image(image_id).get("Config") or {}
        name, group = inject.split_user(config.get("User") or "")
        uid = self._resolve(uuid, "/etc/passwd", name or "0")
        gid = self._resolve(uuid, "/etc/group", group) if group else self._primary_gid(
            uuid, name, uid)
        return uid, gid

    def _resolve(self, uuid, database, name):
        if name.isdigit():
            return int(name)
        found = inject.lookup_id(self._text(uuid, database), name)
        if found is None:
            raise exception.GuestFilesRefused(
                uuid=uuid, reason="the image's user %s is not in its %s" % (name, database))
        return found

    def _primary_gid(self, uuid, name, uid):
        for line in self._text(uuid, "/etc/passwd").splitlines():
            fields = line.split(":")
            if len(fields) >= 4 and (fields[0] == name or fields[2] == str(uid)):
                if fields[3].isdigit():
                    return int(fields[3])
        return 0  # as Docker: a uid without a passwd entry runs with gid 0

    def _text(self, uuid, path):
        return (self.engine.read_file(uuid, path) or b"").decode("utf-8", "replace")
