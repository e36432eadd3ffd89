"""dropbear, Debian's small ssh server, with what it needs to run, for the demo images.

The demo container image and the VM guest hold a static busybox and nothing else;
Debian's ``dropbear-bin`` is dynamically linked, so it comes with the shared libraries
it needs and the dynamic loader, all from Debian's packages (:data:`PACKAGES`): fetched
with ``apt-get download`` into the lab's cache as the guest's kernel is, unpacked with
``dpkg-deb -x`` into a temporary directory (nothing is installed on the host), and the
libraries chosen by following each ELF file's ``DT_NEEDED`` entries from dropbear's.
They go where Debian's loader looks when there is no ``ld.so.cache``
(:data:`LIB_DIR`), and the loader at dropbear's ``PT_INTERP`` path.

No host key is part of the payload: ``dropbear -R`` creates each one the first time a
client asks for its type, inside the running container or guest, in
:data:`HOST_KEY_DIR` (an empty directory in the images). The images' tag and cache key
take :func:`fingerprint` (the packages' versions), so a new Debian release rebuilds
them.
"""

import dataclasses
import logging
import os
import posixpath
import struct
import tempfile

from hybridhost import exception
from hybridhost import runner
from hybridhost.lab import debs

LOG = logging.getLogger(__name__)

#: dropbear-bin and, down to libc, every package holding a library it loads.
PACKAGES = ("dropbear-bin", "libc6", "libcrypt1", "libtomcrypt1", "libtommath1",
            "libgmp10", "zlib1g")
debs.expect(*PACKAGES)
PROGRAM = "usr/sbin/dropbear"
LIB_DIR = "lib/x86_64-linux-gnu"
#: Where the packages put shared libraries (Debian 12 uses both).
LIB_SEARCH = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")
HOST_KEY_DIR = "etc/dropbear"
PT_DYNAMIC, PT_INTERP, PT_LOAD = 2, 3, 1
DT_NEEDED, DT_STRTAB = 1, 5
MAX_LINK_HOPS = 10


@dataclasses.dataclass(frozen=True)
class File:
    """One file of the payload; ``path`` is relative to the image's root."""

    path: str
    data: bytes
    mode: int


def directories(files):
    """Every parent directory of ``files``' paths (relative), parents first."""
    found = set()
    for entry in files:
        parent = posixpath.dirname(entry.path)
        while parent and parent not in found:
            found.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(found)


def versions():
    """((package, version), ...) of :data:`PACKAGES` as apt would download them now."""
    return debs.versions(PACKAGES, "ssh server")


def fingerprint(package_versions):
    """What names the payload in a cache key: ``package=version`` for each package."""
    return " ".join("%s=%s" % pair for pair in package_versions)


def payload(cache_dir, package_versions):
    """The files to add to an image: dropbear, its libraries and the loader."""
    fetched = [debs.fetch_deb(name, version, os.path.join(cache_dir, "debs"))
               for name, version in package_versions]
    with tempfile.TemporaryDirectory() as tree:
        for deb in fetched:
            runner.run(["dpkg-deb", "-x", deb, tree])
        try:
            files = collect(tree)
        except OSError as err:
            raise exception.LabBuildFailed(artifact="ssh server", reason="%s: %s" % (
                err.filename, err.strerror)) from err
    LOG.info("dropbear payload: %s", ", ".join(f.path for f in files))
    return files


def collect(tree):
    """dropbear from the unpacked ``tree``, its libraries (by soname) and its loader."""
    program = _read(tree, PROGRAM)
    interpreter, needed = elf_dynamic(program)
    if not interpreter:
        raise exception.LabBuildFailed(artifact="ssh server", reason="%s has no program "
                                       "interpreter" % PROGRAM)
    files = [File(PROGRAM, program, 0o755),
             File(interpreter.lstrip("/"), _read(tree, interpreter), 0o755)]
    # The loader answers for its own soname (libc needs it): it is not copied twice.
    seen, queue = {posixpath.basename(interpreter)}, list(needed)
    while queue:
        soname = queue.pop(0)
        if soname in seen:
            continue
        seen.add(soname)
        data = _library(tree, soname)
        files.append(File(posixpath.join(LIB_DIR, soname), data, 0o644))
        queue += elf_dynamic(data)[1]
    return files


def _library(tree, soname):
    for directory in LIB_SEARCH:
        if os.path.lexists(os.path.join(tree, directory, soname)):
            return _read(tree, posixpath.join(directory, soname))
    raise exception.LabBuildFailed(artifact="ssh server", reason="no package of %s holds "
                                   "%s" % (", ".join(PACKAGES), soname))


def _read(tree, path):
    """The bytes of ``path`` inside ``tree``, following symlinks as if ``tree`` were /."""
    root = os.path.realpath(tree)
    current = posixpath.normpath("/" + path.lstrip("/"))
    for _ in range(MAX_LINK_HOPS):
        full = os.path.join(root, current.lstrip("/"))
        if not os.path.islink(full):
            with open(full, "rb") as handle:
                return handle.read()
        current = posixpath.normpath(posixpath.join(posixpath.dirname(current),
                                                    os.readlink(full)))
    raise exception.LabBuildFailed(artifact="ssh server", reason="too many symbolic links "
                                   "at %s" % path)


def elf_dynamic(data):
    """(interpreter or None, [DT_NEEDED sonames]) of a 64-bit little-endian ELF file."""
    if data[:6] != b"\x7fELF\x02\x01":
        raise exception.LabBuildFailed(artifact="ssh server",
                                       reason="not a 64-bit little-endian ELF file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segments = [struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
                for i in range(phnum)]
    interpreter, dynamic = None, []
    for kind, _, offset, _, _, size in segments:
        if kind == PT_INTERP:
            interpreter = data[offset:offset + size].rstrip(b"\0").decode()
        elif kind == PT_DYNAMIC:
            dynamic = [struct.unpack_from("<qQ", data, offset + 16 * i)
                       for i in range(size // 16)]
    strtab = _file_offset(segments, dict(dynamic).get(DT_STRTAB))
    needed = [_cstring(data, strtab + value) for tag, value in dynamic if tag == DT_NEEDED]
    return interpreter, needed


def _file_offset(segments, address):
    if address is None:
        return 0
    for kind, _, offset, vaddr, _, size in segments:
        if kind == PT_LOAD and vaddr <= address < vaddr + size:
            return address - vaddr + offset
    raise exception.LabBuildFailed(artifact="ssh server", reason="DT_STRTAB %#x is in no "
                                   "loaded segment" % address)


def _cstring(data, offset):
    return data[offset:data.index(b"\0", offset)].decode()
