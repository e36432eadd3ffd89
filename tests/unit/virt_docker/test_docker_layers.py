"""Compressed layers are measured decompressed: a layer bomb is refused before
``docker load``, after decompressing no more than the limit's worth."""

import bz2
import gzip
import io
import lzma
import os
import tarfile

import pytest

from hybridhost import exception
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import images
from hybridhost.virt.docker import layers
from tests.contract import tarballs
from tests.unit.virt_docker import fakes
from tests.unit.virt_docker import helpers

MIB = 1024 * 1024
COMPRESSORS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


def _layer_of_zeros(size):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = size
        tar.addfile(info, io.BytesIO(bytes(size)))
    return buf.getvalue()


class _Store:
    def __init__(self, tmp_path):
        self.tmp = str(tmp_path)
        self.client = fakes.FakeDockerClient()
        self.service = helpers.MemoryImageService(self.tmp)
        self.store = images.ImageStore(engine_mod.Engine(self.client, "h"), self.service,
                                       work_dir=self.tmp)

    def add(self, layer, layout="classic"):
        path = os.path.join(self.tmp, "image-%d.tar" % len(self.service.images))
        tarballs.write_tarball(path, layer, layout=layout)
        return self.service.add(path)

    def ensure(self, glance_id, max_bytes):
        return self.store.ensure(None, glance_id, "docker", images.SizeLimit(max_bytes, "test"))

    def leftovers(self):
        return [n for n in os.listdir(self.tmp) if n.startswith("hh-image-")]


@pytest.fixture
def store(tmp_path):
    return _Store(tmp_path)


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
@pytest.mark.parametrize("layout", ["classic", "oci"])
def test_a_layer_bomb_is_refused_and_nothing_is_loaded(store, kind, layout):
    bomb = COMPRESSORS[kind](_layer_of_zeros(16 * MIB))
    assert len(bomb) < MIB  # small enough for every earlier check
    glance_id = store.add(bomb, layout)
    with pytest.raises(exception.ImageTooLarge) as caught:
        store.ensure(glance_id, 2 * MIB)
    assert "in its layers once decompressed" in str(caught.value)
    assert "the limit is %d bytes" % (2 * MIB) in str(caught.value)
    assert (store.leftovers(), store.client.images_by_id) == ([], {})


def test_a_compressed_layer_within_the_limit_loads(store):
    layer = _layer_of_zeros(MIB)
    glance_id = store.add(gzip.compress(layer))
    assert store.ensure(glance_id, 2 * MIB) in store.client.images_by_id


def test_the_counting_stops_past_the_limit():
    raw = io.BufferedReader(io.BytesIO(gzip.compress(_layer_of_zeros(64 * MIB))))
    counted = layers.unpacked_size(raw, 0, "bomb", MIB)
    assert MIB < counted <= 2 * MIB


def test_an_uncompressed_layer_is_its_own_size():
    layer = _layer_of_zeros(4096)
    raw = io.BufferedReader(io.BytesIO(layer))
    assert layers.unpacked_size(raw, len(layer), "plain", 1) == len(layer)


@pytest.mark.parametrize("data, fragment", [
    (b"\x28\xb5\x2f\xfd" + bytes(64), "zstd-compressed"),
    (gzip.compress(_layer_of_zeros(4096))[:40], "cannot be decompressed"),
])
def test_a_layer_that_cannot_be_measured_is_refused(store, data, fragment):
    glance_id = store.add(data)
    with pytest.raises(exception.ImageInvalid) as caught:
        store.ensure(glance_id, 100 * MIB)
    assert fragment in str(caught.value)
    assert store.client.images_by_id == {}
