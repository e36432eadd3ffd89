"""Build real ``docker save`` tarballs (classic and OCI layouts) without a daemon.

The layer is a plain tar of the given files; the config carries the layer's diff_id,
so ``docker load`` accepts the result and names the image ``sha256(config)``. Used by
the unit tests (fake engine), the contract tests and the functional tests (real
engine), so all three load byte-identical images.
"""

import hashlib
import io
import json
import os
import tarfile

BUSYBOX = "/bin/busybox"
BUSYBOX_APPLETS = ("sh", "sleep", "ping", "ip", "cat", "echo", "ls", "wget", "httpd", "nc",
                   "touch", "true", "hostname")
#: Runs forever, exits at once on SIGTERM (a plain ``sleep`` as pid 1 ignores it).
LONG_RUNNING = ["/bin/sh", "-c",
                "echo hybridhost-console-ok; trap 'exit 0' TERM; "
                "while :; do sleep 1 & wait $!; done"]


def _add_bytes(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def _add_symlink(tar, name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mode = 0o777
    tar.addfile(info)


def busybox_layer():
    """A layer tar: /bin/busybox and its applet symlinks (needs busybox-static)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("bin")
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        with open(BUSYBOX, "rb") as binary:
            _add_bytes(tar, "bin/busybox", binary.read(), mode=0o755)
        for applet in BUSYBOX_APPLETS:
            _add_symlink(tar, "bin/" + applet, "busybox")
        for directory in ("tmp", "proc", "sys", "dev", "etc"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
    return buf.getvalue()


def tiny_layer(marker="hybridhost"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_bytes(tar, "marker.txt", marker.encode())
    return buf.getvalue()


def image_config(layer, cmd=None, user=None, volumes=()):
    extra = dict({"User": user} if user else {},
                 **({"Volumes": {v: {} for v in volumes}} if volumes else {}))
    config = {
        "architecture": "amd64", "os": "linux",
        "config": dict({"Env": ["PATH=/bin"]},  # cmd=[]: an image with no CMD at all
                       **({"Cmd": cmd or LONG_RUNNING} if cmd != [] else {}), **extra),
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
        "history": [{"created_by": "hybridhost tests"}],
    }
    return json.dumps(config, sort_keys=True).encode()


def write_tarball(path, layer, layout="classic", repo_tags=None, cmd=None, manifest=None,
                  extra=(), user=None, volumes=()):
    """Write a ``docker save`` tarball; returns the image id Docker will give it.

    ``manifest`` overrides manifest.json (a list, or None to leave it out when
    ``layout == 'no-manifest'``); ``extra`` adds (name, bytes) or (name, symlink-target)
    members, e.g. to build broken archives; ``volumes`` are the image's ``VOLUME`` paths.
    """
    config = image_config(layer, cmd, user, volumes)
    config_hex = hashlib.sha256(config).hexdigest()
    layer_hex = hashlib.sha256(layer).hexdigest()
    with tarfile.open(path, "w") as tar:
        if layout == "oci":
            config_name, layer_name = "blobs/sha256/" + config_hex, "blobs/sha256/" + layer_hex
            _write_oci_index(tar, config, config_name, layer, layer_name, repo_tags)
        else:
            config_name, layer_name = config_hex + ".json", layer_hex + "/layer.tar"
            _add_bytes(tar, layer_hex + "/VERSION", b"1.0")
        _add_bytes(tar, config_name, config)
        _add_bytes(tar, layer_name, layer)
        entries = manifest if manifest is not None else [
            {"Config": config_name, "RepoTags": list(repo_tags) if repo_tags else None,
             "Layers": [layer_name]}]
        if layout != "no-manifest":
            _add_bytes(tar, "manifest.json", json.dumps(entries).encode())
        for name, data in extra:
            if isinstance(data, bytes):
                _add_bytes(tar, name, data)
            else:
                _add_symlink(tar, name, data)
    return "sha256:" + config_hex


def _write_oci_index(tar, config, config_name, layer, layer_name, repo_tags):
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + config_name.rsplit("/", 1)[1], "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + layer_name.rsplit("/", 1)[1], "size": len(layer)}],
    }).encode()
    manifest_hex = hashlib.sha256(manifest).hexdigest()
    _add_bytes(tar, "blobs/sha256/" + manifest_hex, manifest)
    annotations = {"io.containerd.image.name": repo_tags[0]} if repo_tags else {}
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": "sha256:" + manifest_hex, "size": len(manifest), "annotations": annotations}]}
    _add_bytes(tar, "index.json", json.dumps(index).encode())
    _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')


def have_busybox():
    return os.path.exists(BUSYBOX)
