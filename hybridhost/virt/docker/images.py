"""Container images: Glance ``docker save`` tarballs, found by Glance ID.

A Glance image with ``container_format=docker`` holds one ``docker save`` tarball
(classic layout, or the OCI layout newer Docker writes: ``Config`` then reads
``blobs/sha256/<hex>``). It is loaded once and tagged :func:`local_ref` (the Glance
ID), so the Glance *name* never matters. Loads of the same image are serialised; a
loaded image is reused.

What a tarball may not do:

* name anything: it is loaded *untagged* (:func:`untagged_stream` rewrites
  ``manifest.json``'s ``RepoTags`` and ``index.json``'s name annotations on the way
  to ``docker load``), so no tarball can move a tag - least of all one of
  hybridhost's own (``nova-glance/...``, ``nova-snapshot/...``) - to its image;
* be larger than :class:`SizeLimit` (the flavor's root disk), downloaded, unpacked or
  with its compressed layers decompressed (:mod:`.layers`, counted as a stream up to the
  limit); the download stops at the limit and the tarball is streamed from disk to the
  engine, never read whole into memory;
* be malformed: it is refused before ``docker load`` and leaves nothing behind.

Cached images no container uses are aged out (:meth:`ImageStore.age_out`).
"""

import dataclasses
import hashlib
import json
import logging
import os
import posixpath
import re
import sys
import tarfile
import tempfile
import threading
import time

from hybridhost import exception
from hybridhost.virt.docker import layers as layer_sizes

LOG = logging.getLogger(__name__)

CONTAINER_FORMAT = "docker"
GLANCE_REPO = "nova-glance/%s"
SNAPSHOT_REPO = "nova-snapshot/%s"
TAG = "latest"
MANIFEST = "manifest.json"
INDEX = "index.json"
#: docker load reads it only when there is no manifest.json; never passed on.
LEGACY_REPOSITORIES = "repositories"
#: Where OCI and containerd put an image's name in index.json.
NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")
#: manifest.json and index.json are read into memory: they may not be larger.
MAX_JSON_BYTES = 4 * 1024 * 1024
GIB = 1024 ** 3
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CONFIG_PATTERNS = (re.compile(r"^([0-9a-f]{64})\.json$"),
                    re.compile(r"^blobs/sha256/([0-9a-f]{64})$"))
_CHUNK = 1024 * 1024


def local_ref(glance_id):
    return "%s:%s" % (GLANCE_REPO % glance_id, TAG)


@dataclasses.dataclass(frozen=True)
class SizeLimit:
    """The most bytes an image may take, downloaded or unpacked, and where that comes from."""

    max_bytes: int
    source: str


def size_limit(root_gb, fallback_gb):
    """The flavor's root disk; ``fallback_gb`` for a flavor without one (root_gb = 0)."""
    if root_gb:
        return SizeLimit(root_gb * GIB, "the flavor's root disk, %d GiB" % root_gb)
    return SizeLimit(fallback_gb * GIB, "[hybridhost_docker] max_image_gb, %d GiB, for a "
                                        "flavor without a root disk" % fallback_gb)


@dataclasses.dataclass(frozen=True)
class TarballImage:
    """What a validated ``docker save`` tarball holds."""

    image_id: str  # sha256:<hex> of the config, the id Docker will give it
    config: str
    layers: tuple
    repo_tags: tuple  # as the tarball names it; never applied
    unpacked_bytes: int = 0  # the tarball's files
    layers_bytes: int = 0  # its layers decompressed (counting stopped past the limit)


# --- tarball validation (pure) ------------------------------------------------------


def _safe_name(name):
    normal = posixpath.normpath(name)
    return not (name.startswith("/") or normal == ".." or normal.startswith("../"))


def _check_member(member):
    if not _safe_name(member.name):
        raise ValueError("entry %r escapes the archive" % member.name)
    if member.issparse():
        raise ValueError("entry %r is a sparse file" % member.name)
    if posixpath.normpath(member.name) in (MANIFEST, INDEX, LEGACY_REPOSITORIES):
        if not member.isfile():
            raise ValueError("%r is not a regular file" % member.name)
        if member.size > MAX_JSON_BYTES:
            raise ValueError("%r is larger than %d bytes" % (member.name, MAX_JSON_BYTES))
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


def _check_index(tar, member):
    try:
        index = json.load(tar.extractfile(member))
    except ValueError as err:
        raise ValueError("%s is not JSON: %s" % (INDEX, err)) from None
    if not isinstance(index, dict) or not isinstance(index.get("manifests", []), list):
        raise ValueError("%s is not an OCI image index" % INDEX)


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
    actual = _sha256(tar.extractfile(files[posixpath.normpath(config)]))
    if actual != digest:
        raise ValueError("config %s has digest %s" % (config, actual))
    tags = entry.get("RepoTags") or ()
    return TarballImage(image_id="sha256:" + digest, config=config, layers=layers,
                        repo_tags=tuple(tags))


def _sha256(fileobj):
    digest = hashlib.sha256()
    for chunk in iter(lambda: fileobj.read(_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _check_members(members):
    """Every member safe, no name twice (docker load would keep only the last one)."""
    seen = set()
    for member in members:
        _check_member(member)
        name = posixpath.normpath(member.name)
        if name in seen and not member.isdir():
            raise ValueError("entry %r appears twice" % member.name)
        seen.add(name)
    return sum(m.size for m in members if m.isfile())


def _layers_bytes(tar, files, layers, stop_after):
    total = 0
    for ref in layers:
        member = files[posixpath.normpath(ref)]
        total += layer_sizes.unpacked_size(tar.extractfile(member), member.size, ref,
                                           stop_after - total)
        if total > stop_after:
            break
    return total


def inspect_tarball(path, max_bytes=None):
    """Validate a ``docker save`` tarball; raise ValueError saying what is wrong.

    Its layers' decompressed size is counted up to ``max_bytes`` (unbounded: None)."""
    try:
        with tarfile.open(path, "r:*") as tar:
            members = tar.getmembers()
            unpacked = _check_members(members)
            files = {posixpath.normpath(m.name): m for m in members if m.isfile()}
            found = _check_entry(tar, files, _read_manifest(tar, files))
            if INDEX in files:
                _check_index(tar, files[INDEX])
            in_layers = _layers_bytes(tar, files, found.layers,
                                      sys.maxsize if max_bytes is None else max_bytes)
    except (tarfile.TarError, EOFError) as err:
        raise ValueError("not a readable tar archive: %s" % err) from None
    return dataclasses.replace(found, unpacked_bytes=unpacked, layers_bytes=in_layers)


# --- the untagged stream docker load reads -----------------------------------------


def _untagged_manifest(data):
    entries = json.loads(data)
    for entry in entries:
        entry["RepoTags"] = None
    return json.dumps(entries).encode()


def _unnamed_index(data):
    index = json.loads(data)
    for manifest in index.get("manifests") or []:
        annotations = manifest.get("annotations") if isinstance(manifest, dict) else None
        for key in NAME_ANNOTATIONS:
            if isinstance(annotations, dict):
                annotations.pop(key, None)
    return json.dumps(index).encode()


_REWRITES = {MANIFEST: _untagged_manifest, INDEX: _unnamed_index}


def _rewritten_member(member, data):
    info = tarfile.TarInfo(member.name)
    info.size, info.mode, info.mtime = len(data), member.mode, member.mtime
    return info.tobuf(format=tarfile.PAX_FORMAT) + data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)


def _raw_member(raw, member):
    """The member's header(s) and padded data, as they are in the (decompressed) archive."""
    raw.seek(member.offset)
    remaining = member.offset_data + member.size + (-member.size % tarfile.BLOCKSIZE) \
        - member.offset
    while remaining:
        chunk = raw.read(min(_CHUNK, remaining))
        if not chunk:
            raise ValueError("the archive ends inside %r" % member.name)
        remaining -= len(chunk)
        yield chunk


def untagged_stream(path):
    """Chunks of the (validated) tarball at ``path`` that ``docker load`` turns into an
    untagged image: names are dropped from manifest.json and index.json, the legacy
    ``repositories`` file is left out, every other member passes byte for byte. The
    result is an uncompressed tar whatever the tarball's compression."""
    with tarfile.open(path, "r:*") as tar:
        for member in tar.getmembers():
            name = posixpath.normpath(member.name)
            if name == LEGACY_REPOSITORIES:
                continue
            if name in _REWRITES:
                yield _rewritten_member(member, _REWRITES[name](tar.extractfile(member).read()))
            else:
                yield from _raw_member(tar.fileobj, member)
        yield b"\0" * (2 * tarfile.BLOCKSIZE)


def _inspect(glance_id, path, limit):
    try:
        tarball = inspect_tarball(path, limit.max_bytes)
    except ValueError as err:
        raise exception.ImageInvalid(image_id=glance_id, reason=err) from None
    if tarball.unpacked_bytes > limit.max_bytes:
        raise _too_large(glance_id, limit, tarball.unpacked_bytes, "unpacked")
    if tarball.layers_bytes > limit.max_bytes:
        raise _too_large(glance_id, limit, "at least %d" % tarball.layers_bytes,
                         "in its layers once decompressed (counting stopped there)")
    return tarball


class _CappedWriter:
    """A file Glance's download writes into; stops it once ``limit`` is passed."""

    def __init__(self, out, glance_id, limit):
        self.out, self.glance_id, self.limit = out, glance_id, limit
        self.written = 0

    def write(self, data):
        self.written += len(data)
        if self.written > self.limit.max_bytes:
            raise _too_large(self.glance_id, self.limit, self.written,
                             "downloaded when the download was stopped")
        return self.out.write(data)

    def truncate(self, size=None):
        return self.out.truncate(size)


def _too_large(glance_id, limit, size, what):
    return exception.ImageTooLarge(image_id=glance_id, size=size, what=what,
                                   limit=limit.max_bytes, source=limit.source)


# --- the image service seam ---------------------------------------------------------


class GlanceImageService:
    """Glance through nova's own client (the production image service)."""

    def __init__(self):
        # Imported here, not at the top: the image helpers above serve tests without nova.
        from nova.image import glance

        self._api = glance.API()

    def show(self, context, image_id):
        return self._api.get(context, image_id)

    def download(self, context, image_id, fileobj):
        """Write the image's data into ``fileobj``, chunk by chunk."""
        self._api.download(context, image_id, data=fileobj)

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

    def ensure(self, context, glance_id, container_format, limit):
        """The engine's image id for Glance image ``glance_id``, loading it on a miss.

        ``limit`` (a :class:`SizeLimit`) bounds the tarball and its unpacked content.
        """
        if container_format != CONTAINER_FORMAT:
            raise exception.ImageInvalid(
                image_id=glance_id,
                reason="container_format is %r, not %r" % (container_format, CONTAINER_FORMAT))
        with self._lock(glance_id):
            cached = self.engine.image_id(local_ref(glance_id))
            if cached:
                LOG.debug("Image %(glance)s is cached as %(id)s",
                          {"glance": glance_id, "id": cached})
                self.engine.tag_image(cached, GLANCE_REPO % glance_id, TAG)  # its last use
                return cached
            return self._fetch_and_load(context, glance_id, limit)

    def _fetch_and_load(self, context, glance_id, limit):
        declared = (self.image_service.show(context, glance_id) or {}).get("size")
        if declared and declared > limit.max_bytes:
            raise _too_large(glance_id, limit, declared, "in Glance")
        fd, path = tempfile.mkstemp(prefix="hh-image-", suffix=".tar", dir=self.work_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                capped = _CappedWriter(out, glance_id, limit)
                self.image_service.download(context, glance_id, capped)
            tarball = _inspect(glance_id, path, limit)
            image_id = self._load(glance_id, path, tarball)
        finally:
            os.unlink(path)
        LOG.info("Glance image %(glance)s loaded as %(id)s", {"glance": glance_id, "id": image_id})
        return image_id

    def _load(self, glance_id, path, tarball):
        """docker load, untagged, then tag with the Glance ID."""
        if tarball.repo_tags:
            LOG.debug("Image %(glance)s: the tarball's own tags %(tags)s are not applied",
                      {"glance": glance_id, "tags": list(tarball.repo_tags)})
        try:
            if not self.engine.image_id(tarball.image_id):
                self.engine.load_image(untagged_stream(path))
            if not self.engine.image_id(tarball.image_id):
                raise exception.ImageInvalid(
                    image_id=glance_id, reason="docker load did not produce %s" % tarball.image_id)
            self.engine.tag_image(tarball.image_id, GLANCE_REPO % glance_id, TAG)
        except exception.DockerOperationFailed as err:
            raise exception.ImageInvalid(image_id=glance_id, reason=err) from err
        return tarball.image_id

    # --- ageing out -------------------------------------------------------------

    def age_out(self, max_age, keep=(), now=None):
        """Untag the cached images (``nova-glance/<id>``) that no container uses, whose
        Glance ID is not in ``keep`` and that were last used (tagged) more than
        ``max_age`` seconds ago; Docker deletes an image with its last tag. The cached
        images in use are tagged again, which restarts their clock, as nova's libvirt
        driver touches the base files in use. Returns the Glance IDs untagged."""
        now = time.time() if now is None else now
        in_use = self.engine.image_ids_in_use()
        removed = []
        for repository, image_id in self.engine.tagged_images(GLANCE_REPO % "*", TAG):
            glance_id = repository[len(GLANCE_REPO % ""):]
            if image_id in in_use or glance_id in keep:
                self.engine.tag_image(image_id, GLANCE_REPO % glance_id, TAG)
            elif self._untag_if_old(glance_id, now - max_age):
                removed.append(glance_id)
        return removed

    def _untag_if_old(self, glance_id, cutoff):
        """Under the image's lock, so that a spawn that just found it (and tagged it
        again) keeps it; Docker itself refuses to untag an image a container uses."""
        with self._lock(glance_id):
            image_id = self.engine.image_id(local_ref(glance_id))
            if image_id is None or self.engine.image_tagged_at(image_id) > cutoff:
                return False
            try:
                self.engine.untag_image(local_ref(glance_id))
            except exception.DockerOperationFailed as err:
                LOG.debug("Image %(glance)s kept: %(err)s", {"glance": glance_id, "err": err})
                return False
        LOG.info("Unused image %s aged out of the cache", glance_id)
        return True

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
