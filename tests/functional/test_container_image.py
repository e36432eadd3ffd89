"""The lab's demo container image, built against the real dockerd.

Uses its own repository name (``hybridhost/busybox-demo-test``) so the lab's image is
never touched; every image and container it creates is labelled or removed.
"""

import json
import os
import tarfile

import docker
from docker import errors as docker_errors
import pytest

from hybridhost import exception
from hybridhost.lab import container_image
from tests.functional import base

DOCKER_URL = os.environ.get("HH_TEST_DOCKER_URL", "unix:///var/run/docker.sock")
REPOSITORY = "hybridhost/busybox-demo-test"
TEST_LABEL = "hybridhost.test"


@pytest.fixture(scope="module")
def client():
    try:
        client = docker.DockerClient(base_url=DOCKER_URL, timeout=60)
        client.ping()
    except docker_errors.DockerException as err:
        base.require(False, "no Docker engine at %s: %s" % (DOCKER_URL, err))
    yield client
    _remove_test_images(client)
    client.close()


def _remove_test_images(client):
    for image in client.images.list(name=REPOSITORY):
        client.images.remove(image.id, force=True)


@pytest.fixture(scope="module")
def built(client, tmp_path_factory):
    base.require(os.path.exists("/bin/busybox"), "missing /bin/busybox (apt-get install "
                 "busybox-static)")
    _remove_test_images(client)
    cache = str(tmp_path_factory.mktemp("image-cache"))
    return cache, container_image.build(cache, DOCKER_URL, repository=REPOSITORY)


def _manifest(path):
    with tarfile.open(path) as archive:
        return json.load(archive.extractfile("manifest.json"))


class TestBuild:
    def test_tarball_holds_exactly_one_tagged_image(self, built):
        """docker save output: one manifest entry, tagged with the built reference."""
        _, tarball = built
        manifest = _manifest(tarball)
        assert len(manifest) == 1
        [tag] = manifest[0]["RepoTags"]
        assert tag.startswith(REPOSITORY + ":")
        assert os.stat(tarball).st_mode & 0o777 == 0o644

    def test_the_docker_driver_accepts_the_tarball(self, built):
        """The driver's own tarball check (what spawn runs on a Glance download)."""
        from hybridhost.virt.docker import images

        _, tarball = built
        inspected = images.inspect_tarball(tarball)
        assert inspected.repo_tags == tuple(_manifest(tarball)[0]["RepoTags"])

    def test_second_build_reuses_the_tarball(self, built):
        """Unchanged inputs: the same path comes back, not rewritten."""
        cache, tarball = built
        before = os.stat(tarball).st_mtime_ns
        assert container_image.build(cache, DOCKER_URL, repository=REPOSITORY) == tarball
        assert os.stat(tarball).st_mtime_ns == before

    def test_unreachable_engine_is_a_clear_error(self, tmp_path):
        """No dockerd at the URL: DockerUnavailable naming it, nothing written."""
        url = "unix://%s/none.sock" % tmp_path
        with pytest.raises(exception.DockerUnavailable, match="none.sock"):
            container_image.build(str(tmp_path), url, repository=REPOSITORY)
        assert not (tmp_path / "container").exists()


class TestLoadAndRun:
    def test_loaded_image_runs_and_stays_up(self, client, built):
        """docker load of the tarball gives an image that runs in the driver's envelope."""
        _, tarball = built
        ref = _manifest(tarball)[0]["RepoTags"][0]
        client.images.remove(ref, force=True)
        with open(tarball, "rb") as handle:
            [image] = client.images.load(handle.read())
        assert ref in image.tags
        assert image.labels.get(container_image.LABEL) == str(container_image.RECIPE_VERSION)
        container = client.containers.run(
            ref, detach=True, network_mode="none", cap_drop=["ALL"],
            security_opt=["no-new-privileges"], labels={TEST_LABEL: "container-image"})
        try:
            base.wait_until(lambda: b"HYBRIDHOST-CONTAINER start" in container.logs(),
                            30, what="the container's start line")
            container.reload()
            assert container.status == "running"
            exit_code, output = container.exec_run(["wget", "-q", "-O", "-",
                                                    "http://127.0.0.1/"])
            assert exit_code == 0 and b"hybridhost container" in output
            container.stop(timeout=10)
            container.reload()
            assert container.attrs["State"]["ExitCode"] == 0  # SIGTERM trapped: clean stop
        finally:
            container.remove(force=True)
