"""The lab's demo container image: busybox-static, imported into Docker and saved.

The root filesystem is built in memory from the host's static ``/bin/busybox`` (Debian
``busybox-static``) with a link per applet, ``/etc/passwd``, ``/etc/group``, a web
root and dropbear with its libraries; ``docker import`` (through the Docker SDK) turns
it into an image and ``docker save`` writes the tarball Glance serves
(``container_format=docker``).

The image's command is a small init that stays up, so the container keeps running
(and its kernel answers ping) and prints parseable lines to its log, which the Docker
driver serves as the console log::

    HYBRIDHOST-CONTAINER start
    HYBRIDHOST-CONTAINER ip=<addr> prefix=<bits>      (once its neutron port is plugged)
    HYBRIDHOST-PING <addr> ok                          (once per answering address)
    HYBRIDHOST-HTTP <addr> ok                          (once per address serving HTTP)

Like the VM guest it probes every address of its /24 (``guest.PROBE_SCRIPT``) and serves
a one-line page with busybox httpd on port 80. busybox ``ping`` needs a raw socket, i.e.
NET_RAW, which the Docker driver drops unless ``[hybridhost_docker] cap_add`` adds it
back; the HTTP probe (plain TCP, no capability) is what shows the container reaching
the VM by default.

dropbear (see :mod:`.dropbear`) listens on port 22: root logs in with the key the Docker
driver writes into /root/.ssh/authorized_keys, never with a password; the host keys
are made inside the container at their first use, not baked into the image. dropbear
needs CAP_SETGID even for root (it calls ``initgroups`` before running the session):
the driver's default capability set keeps it.
"""

import hashlib
import io
import json
import logging
import os
import tarfile
import tempfile

import docker
from docker import errors as docker_errors

from hybridhost import exception
from hybridhost import runner
from hybridhost.lab import dropbear
from hybridhost.lab import guest
from hybridhost.lab import scripts

LOG = logging.getLogger(__name__)

REPOSITORY = "hybridhost/busybox-demo"
LABEL = "hybridhost.lab.demo-image"
#: Bump when the recipe changes, so cached tarballs are rebuilt.
RECIPE_VERSION = 2

#: The container's command (PID 1): httpd, dropbear, its address once plugged, then
#: the probe.
INIT_SCRIPT = scripts.load("container-init.sh")

CHANGES = (
    'CMD ["/bin/sh", "/etc/hybridhost-init"]',
    "ENV PATH=/bin",
    "EXPOSE 22 80",
    "LABEL %s=%d" % (LABEL, RECIPE_VERSION),
)


def build(cache_dir, docker_url, repository=REPOSITORY):
    """Build (or reuse) the demo image; return the path of its ``docker save`` tarball."""
    busybox = guest.static_busybox()
    applets = _applets(busybox)
    sshd = dropbear.versions()
    tag = _tag(busybox, applets, sshd)
    ref = "%s:%s" % (repository, tag)
    tarball = os.path.join(cache_dir, "container", "%s-%s.tar" % (
        repository.replace("/", "_"), tag))
    if os.path.exists(tarball):
        LOG.info("Reusing the demo container image %s (%s)", tarball, ref)
        return tarball
    client = _client(docker_url)
    try:
        _ensure_image(client, ref, busybox, applets,
                      lambda: dropbear.payload(cache_dir, sshd))
        _save(client, ref, tarball)
    except docker_errors.DockerException as err:
        raise exception.LabBuildFailed(
            artifact="container image %s" % ref, reason=str(err)) from err
    except OSError as err:
        raise exception.LabBuildFailed(artifact="container image %s" % ref, reason="%s: %s" % (
            err.filename or tarball, err.strerror or err)) from err
    finally:
        client.close()
    LOG.info("Saved the demo container image %s to %s", ref, tarball)
    return tarball


def _client(docker_url):
    try:
        client = docker.DockerClient(base_url=docker_url, timeout=120)
        client.ping()
    except docker_errors.DockerException as err:
        raise exception.DockerUnavailable(url=docker_url, reason=str(err)) from err
    return client


def _applets(busybox):
    out = runner.run([busybox, "--list"], timeout=30)
    return tuple(sorted(a for a in out.split() if a and a != "busybox" and "/" not in a))


def _tag(busybox, applets, sshd):
    digest = hashlib.sha256()
    for part in (str(RECIPE_VERSION), guest.file_sha256(busybox), " ".join(applets),
                 INIT_SCRIPT, guest.PROBE_SCRIPT, "\n".join(CHANGES),
                 dropbear.fingerprint(sshd)):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:12]


def _ensure_image(client, ref, busybox, applets, sshd_files):
    try:
        client.images.get(ref)
        LOG.info("Image %s is already on the Docker engine", ref)
        return
    except docker_errors.ImageNotFound:
        pass
    repository, tag = ref.rsplit(":", 1)
    LOG.info("Importing %s from %s (%d applets)", ref, busybox, len(applets))
    client.api.import_image_from_data(rootfs_tar(busybox, applets, sshd_files()),
                                      repository=repository,
                                      tag=tag, changes=list(CHANGES))
    client.images.get(ref)


def _save(client, ref, tarball):
    os.makedirs(os.path.dirname(tarball), exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=os.path.dirname(tarball), suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in client.images.get(ref).save(named=True):
                handle.write(chunk)
        _check_one_image(partial, ref)
        os.chmod(partial, 0o644)  # Glance uploads run as another user on some boxes
        os.rename(partial, tarball)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _check_one_image(path, ref):
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
    if len(manifest) != 1 or ref not in (manifest[0].get("RepoTags") or []):
        raise exception.LabBuildFailed(artifact="container image %s" % ref,
                                       reason="docker save gave manifest %s" % manifest)


def rootfs_tar(busybox, applets, sshd_files=()):
    """The image's root filesystem as an uncompressed tar (root-owned, mtime 0);
    ``sshd_files`` are :func:`dropbear.payload`'s."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777),
                           ("www", 0o755), ("proc", 0o755), ("sys", 0o755),
                           ("dev", 0o755), ("root", 0o700), ("run", 0o755),
                           (dropbear.HOST_KEY_DIR, 0o700)):
            _add(archive, name, tarfile.DIRTYPE, mode)
        for name in dropbear.directories(sshd_files):
            _add(archive, name, tarfile.DIRTYPE, 0o755)
        for entry in sshd_files:
            _add(archive, entry.path, tarfile.REGTYPE, entry.mode, entry.data)
        with open(busybox, "rb") as handle:
            _add(archive, "bin/busybox", tarfile.REGTYPE, 0o755, handle.read())
        for applet in applets:
            _add(archive, "bin/%s" % applet, tarfile.SYMTYPE, 0o777, link="busybox")
        _add(archive, "etc/passwd", tarfile.REGTYPE, 0o644,
             b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        _add(archive, "etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\nnogroup:x:65534:\n")
        _add(archive, "etc/hybridhost-init", tarfile.REGTYPE, 0o755, INIT_SCRIPT.encode())
        _add(archive, "etc/hybridhost-probe", tarfile.REGTYPE, 0o755,
             guest.PROBE_SCRIPT.encode())
    return out.getvalue()


def _add(archive, name, kind, mode, data=b"", link=""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.size = kind, mode, link, len(data)
    archive.addfile(info, io.BytesIO(data) if data else None)
