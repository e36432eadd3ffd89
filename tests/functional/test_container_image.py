"""The lab's demo container image, built against the real dockerd.

Uses its own repository name (``hybridhost/busybox-demo-test``) so the lab's image is
never touched; every image and container it creates is labelled or removed. The ssh
tests run a container in the Docker driver's envelope (its HostConfig and its
``authorized_keys`` tar) and reach it over a veth pair in a test range (198.18.0.0/15,
RFC 2544), since the driver's containers have no Docker network.
"""

import errno
import json
import os
import tarfile

import docker
from docker import errors as docker_errors
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError
import pytest

from hybridhost import exception
from hybridhost.lab import container_image
from hybridhost.lab import dropbear
from hybridhost.virt.docker import inject
from hybridhost.virt.docker import limits
from tests.functional import base
from tests.functional import ssh_client

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


HOST_LINK, CONTAINER_LINK = "hhsshtest-h", "hhsshtest-c"
HOST_ADDR, CONTAINER_ADDR = "198.18.233.1", "198.18.233.2"


@pytest.fixture
def plugged(client, built):
    """A container of the image in the driver's envelope, reachable at CONTAINER_ADDR,
    and a function that writes its authorized_keys as the driver does (before start)."""
    base.require(os.geteuid() == 0, "needs root (a veth into the container)")
    base.require_binaries("ssh", "ssh-keygen")
    _, tarball = built
    ref = _manifest(tarball)[0]["RepoTags"][0]
    host_config = limits.host_config_kwargs(limits.limits_for(64, 1, 1024))
    container = client.containers.create(ref, labels={TEST_LABEL: "container-ssh"},
                                         **host_config)
    try:
        yield container, lambda key: _start_with_key(container, key)
    finally:
        container.remove(force=True)
        _remove_link(HOST_LINK)


def _remove_link(name):
    """The veth goes by itself once its peer's namespace is gone, maybe only after the
    lookup found it (seen in CI: ENODEV)."""
    with IPRoute() as ipr:
        for index in ipr.link_lookup(ifname=name):
            try:
                ipr.link("del", index=index)
            except NetlinkError as err:
                if err.code != errno.ENODEV:
                    raise


def _start_with_key(container, key):
    container.put_archive("/", inject.tarball(inject.keys_entries(key)))
    container.start()
    container.reload()
    pid = container.attrs["State"]["Pid"]
    with IPRoute() as ipr:
        ipr.link("add", ifname=HOST_LINK, kind="veth",
                 peer={"ifname": CONTAINER_LINK, "net_ns_pid": pid})
        _up(ipr, HOST_LINK, HOST_ADDR)
    with IPRoute(netns="/proc/%d/ns/net" % pid) as ns:
        _up(ns, CONTAINER_LINK, CONTAINER_ADDR)


def _up(ipr, name, address):
    index = ipr.link_lookup(ifname=name)[0]
    ipr.addr("add", index=index, address=address, prefixlen=30)
    ipr.link("set", index=index, state="up")


class TestSsh:
    def test_the_drivers_key_logs_in_as_root_and_another_key_is_refused(self, plugged,
                                                                         tmp_path):
        """dropbear on port 22 in the driver's envelope (capabilities dropped but the
        default set, no-new-privileges) takes the key the driver writes, only that."""
        container, start_with_key = plugged
        key, public = ssh_client.keypair(tmp_path, "right")
        wrong, _ = ssh_client.keypair(tmp_path, "wrong")
        start_with_key(public)
        base.wait_until(lambda: b"HYBRIDHOST-CONTAINER ip=" in container.logs(), 30,
                        what="the container's address line")
        _, keys = container.exec_run(["ls", "/" + dropbear.HOST_KEY_DIR])
        assert keys == b""  # no host key baked into the image
        result = base.wait_until(lambda: ssh_client.logged_in(key, CONTAINER_ADDR), 30,
                                 what="an ssh login")
        inside = ssh_client.ssh(key, CONTAINER_ADDR, command="id -u; cat /root/.ssh/"
                                "authorized_keys")
        assert result.returncode == 0
        assert inside.stdout == "0\n%s\n" % public
        assert ssh_client.refused(ssh_client.ssh(wrong, CONTAINER_ADDR))
        _, made = container.exec_run(["ls", "/" + dropbear.HOST_KEY_DIR])
        assert b"dropbear_ed25519_host_key" in made

    def test_password_logins_are_off(self, plugged, tmp_path):
        """Only publickey is offered, so no password can ever be tried."""
        _, start_with_key = plugged
        _, public = ssh_client.keypair(tmp_path, "right")
        start_with_key(public)
        result = base.wait_until(lambda: _answer_without_key(), 30, what="dropbear")
        assert "Permission denied (publickey)." in result.stderr


def _answer_without_key():
    result = ssh_client.ssh(None, CONTAINER_ADDR)
    return result if ssh_client.refused(result) else None
