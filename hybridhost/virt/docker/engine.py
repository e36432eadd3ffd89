"""Adapter over the Docker SDK's low-level ``APIClient``.

It owns the container labels, so it is what keeps this service to its own
containers: every lookup filters on :data:`LABEL_UUID` *and* :data:`LABEL_HOST` =
this service's host. ``docker.errors`` and connection errors are translated here,
once, into hybridhost exceptions.
"""

import contextlib
import dataclasses
import logging

import docker
from docker import errors as docker_errors
import requests

from hybridhost import exception
from hybridhost.virt.docker import limits

LOG = logging.getLogger(__name__)

LABEL_UUID = "nova.uuid"
LABEL_HOST = "nova.host"
LABEL_NAME = "nova.name"
LABEL_GLANCE_IMAGE = "nova.glance-image"
NAME_PREFIX = "nova-"


@dataclasses.dataclass(frozen=True)
class ContainerInfo:
    id: str
    uuid: str
    name: str
    status: str  # created, running, paused, restarting, removing, exited, dead
    pid: int
    image_id: str
    labels: dict

    @property
    def running(self):
        return self.status in ("running", "paused", "restarting")


def version_tuple(version):
    return tuple(int(part) for part in str(version).split("."))


def container_name(uuid):
    return NAME_PREFIX + uuid


def _to_info(data):
    labels = data["Config"].get("Labels") or {}
    return ContainerInfo(id=data["Id"], uuid=labels.get(LABEL_UUID, ""),
                         name=labels.get(LABEL_NAME, ""), status=data["State"]["Status"],
                         pid=int(data["State"].get("Pid") or 0), image_id=data["Image"],
                         labels=dict(labels))


class Engine:
    """The Docker engine as this nova-compute service may use it."""

    def __init__(self, client, host, url="(client)"):
        self.client = client
        self.host = host
        self.url = url

    @classmethod
    def connect(cls, url, api_version, host, timeout=60):
        try:
            client = docker.APIClient(base_url=url, version=api_version, timeout=timeout)
        except docker_errors.DockerException as err:
            raise exception.DockerUnavailable(url=url, reason=err) from err
        return cls(client, host, url)

    @contextlib.contextmanager
    def _translate(self, operation, target, not_found=None):
        try:
            yield
        except docker_errors.NotFound as err:
            if not_found is None:
                raise exception.DockerOperationFailed(
                    operation=operation, target=target, reason=err.explanation) from err
            raise not_found from err
        except docker_errors.APIError as err:
            raise exception.DockerOperationFailed(
                operation=operation, target=target, reason=err.explanation or err) from err
        except (requests.exceptions.ConnectionError, docker_errors.DockerException) as err:
            raise exception.DockerUnavailable(url=self.url, reason=err) from err

    # --- engine ---------------------------------------------------------------

    def check(self, min_api_version):
        """Ping the engine; refuse one older than ``min_api_version``. Returns its version dict."""
        with self._translate("report", "its version"):
            info = self.client.version()
        api = info.get("ApiVersion", "0")
        if version_tuple(api) < version_tuple(min_api_version):
            raise exception.DockerUnavailable(
                url=self.url, reason="API %s is older than the required %s" % (api, min_api_version))
        return info

    def labels_for(self, uuid, name, extra=None):
        labels = {LABEL_UUID: uuid, LABEL_HOST: self.host, LABEL_NAME: name}
        labels.update(extra or {})
        return labels

    # --- containers -----------------------------------------------------------

    def _own_filter(self, uuid=None):
        labels = ["%s=%s" % (LABEL_HOST, self.host)]
        labels.append("%s=%s" % (LABEL_UUID, uuid) if uuid else LABEL_UUID)
        return {"label": labels}

    def list_own(self):
        """Every container of this service, as ContainerInfo."""
        with self._translate("list", "containers"):
            summaries = self.client.containers(all=True, filters=self._own_filter())
        found = []
        for summary in summaries:
            info = self.find_by_id(summary["Id"])
            if info is not None:
                found.append(info)
        return found

    def find_by_id(self, container_id):
        with self._translate("inspect", container_id):
            try:
                return _to_info(self.client.inspect_container(container_id))
            except docker_errors.NotFound:
                return None

    def find(self, uuid):
        """This service's container for instance ``uuid``, or None."""
        with self._translate("list", "containers of %s" % uuid):
            summaries = self.client.containers(all=True, filters=self._own_filter(uuid))
        for summary in summaries:
            info = self.find_by_id(summary["Id"])
            if info is not None and info.uuid == uuid and info.labels.get(LABEL_HOST) == self.host:
                return info
        return None

    def get(self, uuid):
        info = self.find(uuid)
        if info is None:
            raise exception.ContainerNotFound(uuid=uuid)
        return info

    def create(self, uuid, name, image_id, host_config_kwargs, hostname=None, command=None,
               extra_labels=None):
        """Create (not start) the container of instance ``uuid``. Returns its id."""
        with self._translate("create a container for", uuid,
                             not_found=exception.ImageNotFound(ref=image_id)):
            host_config = self.client.create_host_config(**host_config_kwargs)
            try:
                limits.check_host_config(host_config)
            except ValueError as err:
                raise exception.UnsafeContainerConfig(uuid=uuid, reason=err) from None
            created = self.client.create_container(
                image_id, command=command, hostname=hostname, detach=True,
                name=container_name(uuid), labels=self.labels_for(uuid, name, extra_labels),
                host_config=host_config, network_disabled=False)
        LOG.info("Container %(id)s created for instance %(uuid)s",
                 {"id": created["Id"][:12], "uuid": uuid})
        return created["Id"]

    def _act(self, operation, uuid, call, **kwargs):
        info = self.get(uuid)
        with self._translate(operation, uuid, not_found=exception.ContainerNotFound(uuid=uuid)):
            call(info.id, **kwargs)
        LOG.info("Container of instance %(uuid)s: %(op)s done", {"uuid": uuid, "op": operation})

    def start(self, uuid):
        self._act("start", uuid, self.client.start)

    def stop(self, uuid, timeout):
        self._act("stop", uuid, self.client.stop, timeout=timeout)

    def kill(self, uuid):
        info = self.get(uuid)
        if info.status not in ("running", "paused", "restarting"):
            return
        self._act("kill", uuid, self.client.kill)

    def pause(self, uuid):
        self._act("pause", uuid, self.client.pause)

    def unpause(self, uuid):
        self._act("unpause", uuid, self.client.unpause)

    def remove(self, uuid):
        """Force-remove the container of ``uuid``. False if there was none."""
        info = self.find(uuid)
        if info is None:
            return False
        with self._translate("remove", uuid):
            try:
                self.client.remove_container(info.id, force=True)
            except docker_errors.NotFound:
                return False
        LOG.info("Container %(id)s of instance %(uuid)s removed",
                 {"id": info.id[:12], "uuid": uuid})
        return True

    def logs(self, uuid, max_bytes):
        """The last ``max_bytes`` of the container's stdout and stderr."""
        info = self.get(uuid)
        with self._translate("read the logs of", uuid):
            data = self.client.logs(info.id, stdout=True, stderr=True, stream=False)
        return data[-max_bytes:]

    def commit(self, uuid, repository, tag):
        info = self.get(uuid)
        with self._translate("commit", uuid):
            result = self.client.commit(info.id, repository=repository, tag=tag)
        return result["Id"]

    # --- images ---------------------------------------------------------------

    def inspect_image(self, ref):
        with self._translate("inspect image", ref, not_found=exception.ImageNotFound(ref=ref)):
            return self.client.inspect_image(ref)

    def image_id(self, ref):
        """The image id ``ref`` resolves to, or None."""
        try:
            return self.inspect_image(ref)["Id"]
        except exception.ImageNotFound:
            return None

    def load_image(self, fileobj):
        """``docker load`` from an open tarball; returns the engine's messages."""
        with self._translate("load", "an image tarball"):
            messages = list(self.client.load_image(fileobj))
        errors = [m.get("error") for m in messages if isinstance(m, dict) and m.get("error")]
        if errors:  # the engine reports load failures in the stream, not as HTTP errors
            raise exception.DockerOperationFailed(
                operation="load", target="an image tarball", reason="; ".join(errors))
        return messages

    def tag_image(self, image_id, repository, tag):
        with self._translate("tag", image_id, not_found=exception.ImageNotFound(ref=image_id)):
            self.client.tag(image_id, repository, tag=tag, force=True)

    def untag_image(self, ref):
        """Remove a tag (or an untagged image). False if it did not exist."""
        with self._translate("remove image", ref):
            try:
                self.client.remove_image(ref)
            except docker_errors.NotFound:
                return False
        return True

    def save_image(self, ref):
        """Chunks of a ``docker save`` tarball of ``ref``."""
        with self._translate("save", ref, not_found=exception.ImageNotFound(ref=ref)):
            return self.client.get_image(ref)

    # --- events ---------------------------------------------------------------

    def events(self, since=None, until=None):
        """A closable stream of this service's container events (decoded dicts).

        Endless unless ``until`` (a Unix time) is given.
        """
        filters = {"type": ["container"], "label": ["%s=%s" % (LABEL_HOST, self.host)]}
        with self._translate("stream", "events"):
            return self.client.events(since=since, until=until, filters=filters, decode=True)

