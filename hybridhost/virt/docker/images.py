"""Container images: Glance ``docker save`` tarballs, found by Glance ID.

A Glance image with ``container_format=docker`` holds one ``docker save`` tarball
(classic layout, or the OCI layout newer Docker writes: ``Config`` then reads
``blobs/sha256/<hex>``). It is loaded once and tagged :func:`local_ref` (the Glance
ID), so the Glance *name* never matters. Loads of the same image are serialised; a
loaded image is reused. A bad tarball is refused before ``docker load`` and leaves
nothing behind: tags that ``docker load`` applied from the tarball's ``RepoTags``
are put back the way they were.
"""

import dataclasses
import hashlib
import json
import logging
import os
import posixpath
import re
import tarfile
import tempfile
import threading

from hybridhost import exception

LOG = logging.getLogger(__name__)

CONTAINER_FORMAT = "docker"
GLANCE_REPO = "nova-glance/%s"
SNAPSHOT_REPO = "nova-snapshot/%s"
TAG = "latest"
MANIFEST = "manifest.json"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CONFIG_PATTERNS = (re.compile(r"^([0-9a-f]{64})\.json$"),
                    re.compile(r"^blobs/sha256/([0-9a-f]{64})$"))
_CHUNK = 1024 * 1024


def local_ref(glance_id):
    return "%s:%s" % (GLANCE_REPO % glance_id, TAG)


@dataclasses.dataclass(frozen=True)
class TarballImage:
    """What a validated ``docker save`` tarball holds."""

    image_id: str  # sha256:<hex> of the config, the id Docker will give it
    config: str
    layers: tuple
    repo_tags: tuple


# --- tarball validation (pure) ------------------------------------------------------


def _safe_name(name):
    normal = posixpath.normpath(name)
    return not (name.startswith("/") or normal == ".." or normal.startswith("../"))


def _check_member(member):
    if not _safe_name(member.name):
        raise ValueError("entry %r escapes the archive" % member.name)
    if member.issym() or member.islnk():
        target = posixpath.join(posixpath.dirname(member.name), member.linkname)
        if member.islnk():
            target = member.linkname
        if member.linkname.startswith("/") or not _safe_name(target):
            raise ValueError("link %r -> %r escapes the archive" % (member.name, member.linkname))
    elif not (member.isfile() or member.isdir()):
        raise ValueError("entry %r is not a file or directory" % member.name)


def _read_manifest(tar, files):
    if MANIFEST not in files:
        raise ValueError("no %s: not a 'docker save' tarball" % MANIFEST)
    try:
        manifest = json.load(tar.extractfile(files[MANIFEST]))
    except ValueError as err:
        raise ValueError("%s is not JSON: %s" % (MANIFEST, err)) from None
    if not isinstance(manifest, list) or len(manifest) != 1:
        count = len(manifest) if isinstance(manifest, list) else "no"
        raise ValueError("the tarball must hold exactly one image, it holds %s" % count)
    entry = manifest[0]
    if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
        raise ValueError("%s entry has no Config" % MANIFEST)
    return entry


def _config_digest(config):
    for pattern in _CONFIG_PATTERNS:
        match = pattern.match(config)
        if match:
            return match.group(1)
    raise ValueError("unexpected Config reference %r" % config)


def _check_entry(tar, files, entry):
    config = entry["Config"]
    layers = tuple(entry.get("Layers") or ())
    for ref in (config,) + layers:
        if not isinstance(ref, str) or posixpath.normpath(ref) not in files:
            raise ValueError("%s names %r, which is not in the tarball" % (MANIFEST, ref))
    digest = _config_digest(config)
    actual = hashlib.sha256(tar.extractfile(files[posixpath.normpath(config)]).read()).hexdigest()
    if actual != digest:
        raise ValueError("config %s has digest %s" % (config, actual))
    tags = entry.get("RepoTags") or ()
    return TarballImage(image_id="sha256:" + digest, config=config, layers=layers,
                        repo_tags=tuple(tags))


def inspect_tarball(path):
    """Validate a ``docker save`` tarball; raise ValueError saying what is wrong."""
    try:
        with tarfile.open(path, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member)
            files = {posixpath.normpath(m.name): m for m in members if m.isfile()}
            return _check_entry(tar, files, _read_manifest(tar, files))
    except (tarfile.TarError, EOFError) as err:
        raise ValueError("not a readable tar archive: %s" % err) from None


# --- the image service seam ---------------------------------------------------------


class GlanceImageService:
    """Glance through nova's own client (the production image service)."""

    def __init__(self):
        # Imported here, not at the top: the image helpers above serve tests without nova.
        from nova.image import glance

        self._api = glance.API()

    def show(self, context, image_id):
        return self._api.get(context, image_id)

    def download(self, context, image_id, dst_path):
        self._api.download(context, image_id, dest_path=dst_path)

    def upload(self, context, image_id, metadata, fileobj):
        self._api.update(context, image_id, metadata, data=fileobj, purge_props=False)


# --- the store ----------------------------------------------------------------------


class ImageStore:
    """Makes Glance images available on the engine, by Glance ID."""

    def __init__(self, engine, image_service, work_dir=None):
        self.engine = engine
        self.image_service = image_service
        self.work_dir = work_dir
        self._locks = {}
        self._locks_guard = threading.Lock()

    def _lock(self, glance_id):
        with self._locks_guard:
            return self._locks.setdefault(glance_id, threading.Lock())

    def ensure(self, context, glance_id, container_format):
        """The engine's image id for Glance image ``glance_id``, loading it on a miss."""
        if container_format != CONTAINER_FORMAT:
            raise exception.ImageInvalid(
                image_id=glance_id,
                reason="container_format is %r, not %r" % (container_format, CONTAINER_FORMAT))
        with self._lock(glance_id):
            cached = self.engine.image_id(local_ref(glance_id))
            if cached:
                LOG.debug("Image %(glance)s is cached as %(id)s",
                          {"glance": glance_id, "id": cached})
                return cached
            return self._fetch_and_load(context, glance_id)

    def _fetch_and_load(self, context, glance_id):
        fd, path = tempfile.mkstemp(prefix="hh-image-", suffix=".tar", dir=self.work_dir)
        os.close(fd)
        try:
            self.image_service.download(context, glance_id, path)
            try:
                tarball = inspect_tarball(path)
            except ValueError as err:
                raise exception.ImageInvalid(image_id=glance_id, reason=err) from None
            image_id = self._load(glance_id, path, tarball)
        finally:
            os.unlink(path)
        LOG.info("Glance image %(glance)s loaded as %(id)s", {"glance": glance_id, "id": image_id})
        return image_id

    def _load(self, glance_id, path, tarball):
        """docker load + tag with the Glance ID; the tarball's own tags are undone."""
        if self.engine.image_id(tarball.image_id):  # same content present under another id
            self.engine.tag_image(tarball.image_id, GLANCE_REPO % glance_id, TAG)
            return tarball.image_id
        before = {tag: self.engine.image_id(tag) for tag in tarball.repo_tags}
        try:
            with open(path, "rb") as fileobj:
                self.engine.load_image(fileobj)
            if not self.engine.image_id(tarball.image_id):
                raise exception.ImageInvalid(
                    image_id=glance_id, reason="docker load did not produce %s" % tarball.image_id)
            self.engine.tag_image(tarball.image_id, GLANCE_REPO % glance_id, TAG)
        except exception.DockerOperationFailed as err:
            raise exception.ImageInvalid(image_id=glance_id, reason=err) from err
        finally:
            self._restore_tags(before)
        return tarball.image_id

    def _restore_tags(self, before):
        for tag, old_id in before.items():
            if old_id is None:
                self.engine.untag_image(tag)
            elif self.engine.image_id(tag) != old_id:
                repository, _, name = tag.rpartition(":")
                self.engine.tag_image(old_id, repository, name)

    def snapshot(self, context, uuid, snapshot_id, metadata):
        """Commit the container of ``uuid`` and upload it as Glance image ``snapshot_id``."""
        repository = SNAPSHOT_REPO % snapshot_id
        image_id = self.engine.commit(uuid, repository, TAG)
        try:
            self._upload(context, snapshot_id, "%s:%s" % (repository, TAG), metadata)
            self.engine.tag_image(image_id, GLANCE_REPO % snapshot_id, TAG)
        finally:
            self.engine.untag_image("%s:%s" % (repository, TAG))
        LOG.info("Instance %(uuid)s snapshotted to image %(snap)s",
                 {"uuid": uuid, "snap": snapshot_id})
        return image_id

    def _upload(self, context, snapshot_id, ref, metadata):
        with tempfile.TemporaryFile(prefix="hh-snapshot-", dir=self.work_dir) as spool:
            for chunk in self.engine.save_image(ref):
                spool.write(chunk)
            spool.seek(0)
            meta = dict(metadata, container_format=CONTAINER_FORMAT, disk_format="raw")
            self.image_service.upload(context, snapshot_id, meta, spool)
