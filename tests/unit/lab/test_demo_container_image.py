"""The lab's hh-busybox in Glance follows the demo image's build (its tarball's tag)."""

from hybridhost.lab import container_image
from hybridhost.lab import demo
from tests.unit import confutils
from tests.unit.lab import test_demo


class TestContainerImage:
    def test_same_build_is_kept_another_build_replaces_it(self, tmp_path, monkeypatch):
        conf = confutils.load(tmp_path, "[lab]\ncache_dir = %s\n" % tmp_path)
        conn = test_demo._conn()  # noqa: SLF001
        built = {}

        def build(cache_dir, docker_url):
            path = tmp_path / ("hybridhost_busybox-demo-%s.tar" % built["tag"])
            path.write_bytes(b"tar")
            return str(path)

        monkeypatch.setattr(container_image, "build", build)
        built["tag"] = "aaaa"
        image, uploaded = demo.ensure_container_image(conn, conf)
        assert uploaded and image.properties == {
            "hypervisor_type": "docker",
            demo.CONTAINER_BUILD_PROPERTY: "hybridhost_busybox-demo-aaaa"}
        assert demo.ensure_container_image(conn, conf) == (image, False)
        built["tag"] = "bbbb"
        image, uploaded = demo.ensure_container_image(conn, conf)
        assert uploaded and image.properties[demo.CONTAINER_BUILD_PROPERTY].endswith("bbbb")
        assert [i.name for i in conn.image.images_] == [demo.CONTAINER_IMAGE]

    def test_an_image_from_before_the_property_is_replaced(self, tmp_path, monkeypatch):
        conf = confutils.load(tmp_path, "[lab]\ncache_dir = %s\n" % tmp_path)
        conn = test_demo._conn()  # noqa: SLF001
        (tmp_path / "old.tar").write_bytes(b"old")
        with open(tmp_path / "old.tar", "rb") as handle:
            conn.image.create_image(demo.CONTAINER_IMAGE, handle, "raw", "docker",
                                    visibility="public", allow_duplicates=True,
                                    validate_checksum=False)
        tarball = tmp_path / "hybridhost_busybox-demo-cccc.tar"
        tarball.write_bytes(b"tar")
        monkeypatch.setattr(container_image, "build", lambda *_: str(tarball))
        image, uploaded = demo.ensure_container_image(conn, conf)
        assert uploaded and conn.image.images_ == [image]
