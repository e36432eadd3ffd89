"""What the driver puts into a container before it starts: pure, no nova, no Docker.

* the instance's public key as ``authorized_keys`` (root's by default, or the path of
  the image property :data:`KEYS_PATH_PROPERTY`);
* nova's config-drive tree (``openstack/latest/meta_data.json``, ``user_data``,
  ``network_data.json``...) under :data:`CONFIG_DRIVE_PATH`, read-only;
* the resolver options of the container's HostConfig: the subnets' DNS servers and an
  ``/etc/hosts`` line per fixed IP for the instance's hostname.

Docker bind-mounts its own ``/etc/resolv.conf``, ``/etc/hosts`` and ``/etc/hostname`` over
the image's at every start (a file written there would be hidden, and the mounted one
cannot be replaced while the container runs), so DNS servers and hosts entries go
through ``HostConfig.Dns``/``ExtraHosts``, which Docker writes into those files at
every start.

Files reach the container as an in-memory tar for the Docker API's ``put_archive``
on the created, not yet started, container: no mount, no privilege.
"""

from collections.abc import Iterable
import dataclasses
import io
import posixpath
import tarfile
import time
from typing import Any

#: Where the config-drive tree goes: cloud-init's seed directory for its ConfigDrive
#: datasource, which cloud-init (and ds-identify) read without mounting anything.
CONFIG_DRIVE_PATH = "/var/lib/cloud/seed/config_drive"
ROOT_KEYS_PATH = "/root/.ssh/authorized_keys"
KEYS_PATH_PROPERTY = "hybridhost_authorized_keys_path"
MAX_PATH_LENGTH = 1024
FILE_MODE, DIR_MODE = 0o444, 0o555
KEYS_MODE, KEYS_DIR_MODE = 0o600, 0o700


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One tar member; ``data`` None is a directory. ``path`` is absolute."""

    path: str
    data: bytes | None
    mode: int
    uid: int = 0
    gid: int = 0


def check_guest_path(path: str) -> str:
    """``path`` if it is a plain absolute path inside the container, else ValueError."""
    if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATH_LENGTH:
        raise ValueError("%r is not an absolute path" % (path,))
    parts = path.split("/")[1:]
    if "\0" in path or any(part in ("", ".", "..") for part in parts):
        raise ValueError("%r must be a normalised absolute path to a file (no '..')" % path)
    return path


def _data(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def keys_entries(key_data: str, path: str = ROOT_KEYS_PATH, uid: int = 0,
                 gid: int = 0) -> list[FileEntry]:
    """``authorized_keys`` holding exactly ``key_data`` (0600) in its own directory (0700)."""
    check_guest_path(path)
    text = key_data.strip()
    if not text or "\n" in text:
        raise ValueError("the instance's public key must be one non-empty line")
    directory = posixpath.dirname(path)
    entries = [FileEntry(path, (text + "\n").encode(), KEYS_MODE, uid, gid)]
    if directory != "/":
        entries.insert(0, FileEntry(directory, None, KEYS_DIR_MODE, uid, gid))
    return entries


def config_drive_entries(pairs: Iterable[tuple[str, str | bytes]],
                         root: str = CONFIG_DRIVE_PATH) -> list[FileEntry]:
    """The (path, data) pairs of nova's config-drive builder under ``root``, read-only
    and owned by root; every directory of the tree is listed before its files."""
    check_guest_path(root)
    files, dirs = [], {root}
    for rel, value in pairs:
        path = check_guest_path(posixpath.join(root, rel))
        files.append(FileEntry(path, _data(value), FILE_MODE))
        parent = posixpath.dirname(path)
        while parent != root and parent not in dirs:
            dirs.add(parent)
            parent = posixpath.dirname(parent)
    return [FileEntry(d, None, DIR_MODE) for d in sorted(dirs)] + files


def tarball(entries: Iterable[FileEntry], mtime: float | None = None) -> bytes:
    """An uncompressed tar of ``entries``, paths relative to ``/`` (for put_archive at /)."""
    stamp = int(time.time() if mtime is None else mtime)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path.lstrip("/"))
            info.mode, info.uid, info.gid, info.mtime = entry.mode, entry.uid, entry.gid, stamp
            if entry.data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
    return buf.getvalue()


def lookup_id(database: str, name: str) -> int | None:
    """The id (third field) of ``name`` in an /etc/passwd or /etc/group text."""
    for line in database.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    return None


def split_user(user: str) -> tuple[str, str]:
    """Docker's ``Config.User`` (``name``, ``uid``, ``name:group``, ``uid:gid``) split in two."""
    name, _, group = (user or "").partition(":")
    return name, group


def _addresses(ips: Iterable[dict[str, Any]]) -> list[str]:
    return [ip["address"] for ip in ips if ip.get("address")]


def dns_servers(network_info: Iterable[dict[str, Any]]) -> list[str]:
    """Every DNS server of every subnet of the instance's ports, in port order, once."""
    found: list[str] = []
    for vif in network_info:
        for subnet in (vif.get("network") or {}).get("subnets") or []:
            for address in _addresses(subnet.get("dns") or []):
                if address not in found:
                    found.append(address)
    return found


def fixed_ips(network_info: Iterable[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for vif in network_info:
        for subnet in (vif.get("network") or {}).get("subnets") or []:
            found += [a for a in _addresses(subnet.get("ips") or []) if a not in found]
    return found


def resolver_kwargs(network_info: Iterable[dict[str, Any]],
                    hostname: str | None) -> dict[str, list[str]]:
    """``HostConfig`` options: the subnets' DNS servers (Docker's ``/etc/resolv.conf``;
    none: Docker keeps its default, the host's servers without loopback ones) and
    ``hostname``'s address on each fixed IP (Docker's ``/etc/hosts``)."""
    network_info = list(network_info)
    kwargs = {}
    servers = dns_servers(network_info)
    if servers:
        kwargs["dns"] = servers
    if hostname:
        hosts = ["%s:%s" % (hostname, address) for address in fixed_ips(network_info)]
        if hosts:
            kwargs["extra_hosts"] = hosts
    return kwargs
