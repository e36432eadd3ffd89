"""What the layers of a ``docker save`` tarball take once Docker has unpacked them.

A layer may be compressed (gzip, bzip2 or xz: ``docker load`` detects the compression
of each layer file), so its size inside the tarball says little about the disk it
fills: a few MiB of gzip can hold GiB of zeros. Each compressed layer is decompressed
here as a stream, in bounded chunks, and the counting stops as soon as the total is
over the limit, so a bomb costs at most the limit's worth of decompression and no disk.
"""

import bz2
import gzip
import lzma

_CHUNK = 1024 * 1024
_OPENERS = (
    (b"\x1f\x8b", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    (b"BZh", bz2.BZ2File),
    (b"\xfd7zXZ\x00", lzma.LZMAFile),
)
#: Docker reads zstd layers too; Python's standard library cannot.
_ZSTD = b"\x28\xb5\x2f\xfd"


def _opener(head, name):
    for magic, opener in _OPENERS:
        if head.startswith(magic):
            return opener
    if head.startswith(_ZSTD):
        raise ValueError("layer %r is zstd-compressed, which cannot be checked here" % name)
    return None


def _count(stream, stop_after):
    total = 0
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        total += len(chunk)
        if total > stop_after:
            break
    return total


def unpacked_size(raw, size, name, stop_after):
    """Bytes of the layer ``raw`` (a buffered file object of ``size`` bytes, as
    ``TarFile.extractfile`` gives) once decompressed: ``size`` when it is not
    compressed. Counting stops once past ``stop_after``, so a result above it means "at
    least that much". ValueError when it cannot be read."""
    opener = _opener(raw.peek(8)[:8], name)
    if opener is None:
        return size
    try:
        with opener(raw) as stream:
            return _count(stream, stop_after)
    except (OSError, EOFError, lzma.LZMAError) as err:
        raise ValueError("layer %r cannot be decompressed: %s" % (name, err)) from None
