"""Adapter over the Docker SDK's low-level ``APIClient``.

It owns the container labels, so it is what keeps this service to its own
containers: every lookup filters on :data:`LABEL_UUID` *and* :data:`LABEL_HOST` =
this service's host. ``docker.errors`` and connection errors are translated here,
once, into hybridhost exceptions.
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
import contextlib
import dataclasses
import datetime
import fnmatch
import io
import logging
import os
import re
import socket
import tarfile
from typing import IO
from typing import Any
from typing import Self

import docker
from docker import errors as docker_errors
from docker import types as docker_types
import requests

from hybridhost import exception
from hybridhost.virt.docker import limits

LOG = logging.getLogger(__name__)

LABEL_UUID = "nova.uuid"
LABEL_HOST = "nova.host"
LABEL_NAME = "nova.name"
LABEL_GLANCE_IMAGE = "nova.glance-image"
LABEL_DISPLAY_NAME = "nova.display-name"
NAME_PREFIX = "nova-"
#: Docker's json-file log driver, bounded: a container's stdout cannot fill the disk.
LOG_DRIVER = "json-file"
DEFAULT_LOG_OPTIONS = {"max-size": "10m", "max-file": "3"}
#: The console log asks Docker for one line per this many bytes wanted (a console line
#: is rarely shorter), then keeps only the last bytes.
CONSOLE_BYTES_PER_LINE = 16
_NO_TIME = "0001-01-01T00:00:00Z"
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


@dataclasses.dataclass(frozen=True)
class ContainerInfo:
    id: str
    uuid: str
    name: str
    status: str  # created, running, paused, restarting, removing, exited, dead
    pid: int
    image_id: str
    labels: dict[str, str]
    sandbox: str = ""  # path of the network namespace Docker made (SandboxKey)
    oom_killed: bool = False
    exit_code: int = 0
    finished_at: str = ""
    hostname: str = ""

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused", "restarting")


@dataclasses.dataclass(frozen=True)
class ExecSession:
    """A command running in a container, attached to ``sock`` (``response`` is what the
    Docker SDK hijacked the connection from, kept open with it)."""

    exec_id: str
    sock: socket.socket
    response: Any


def version_tuple(version: object) -> tuple[int, ...]:
    return tuple(int(part) for part in str(version).split("."))


def container_name(uuid: str) -> str:
    return NAME_PREFIX + uuid


def _to_info(data: dict[str, Any]) -> ContainerInfo:
    labels = data["Config"].get("Labels") or {}
    state = data["State"]
    return ContainerInfo(id=data["Id"], uuid=labels.get(LABEL_UUID, ""),
                         name=labels.get(LABEL_NAME, ""), status=state["Status"],
                         pid=int(state.get("Pid") or 0), image_id=data["Image"],
                         labels=dict(labels),
                         sandbox=(data.get("NetworkSettings") or {}).get("SandboxKey") or "",
                         oom_killed=bool(state.get("OOMKilled")),
                         exit_code=int(state.get("ExitCode") or 0),
                         finished_at=state.get("FinishedAt") or "",
                         hostname=data["Config"].get("Hostname") or "")


def parse_time(text: str) -> float:
    """A Unix time from Docker's RFC 3339 time (nanoseconds, 'Z'); 0 for its zero time."""
    if not text or text == _NO_TIME:
        return 0.0
    text = _FRACTION.sub(r"\1", text.replace("Z", "+00:00"))
    return datetime.datetime.fromisoformat(text).timestamp()


def _tail(chunks: Iterable[bytes], max_bytes: int) -> bytes:
    kept = bytearray()
    for chunk in chunks:
        kept += chunk
        del kept[:-max_bytes]
    return bytes(kept)


class Engine:
    """The Docker engine as this nova-compute service may use it."""

    def __init__(self, client: docker.APIClient, host: str, url: str = "(client)",
                 log_options: dict[str, str] | None = None) -> None:
        self.client = client
        self.host = host
        self.url = url
        self.log_options = dict(log_options or DEFAULT_LOG_OPTIONS)

    @classmethod
    def connect(cls, url: str, api_version: str, host: str, timeout: int = 60,
                log_options: dict[str, str] | None = None) -> Self:
        try:
            client = docker.APIClient(base_url=url, version=api_version, timeout=timeout)
        except docker_errors.DockerException as err:
            raise exception.DockerUnavailable(url=url, reason=err) from err
        return cls(client, host, url, log_options)

    @contextlib.contextmanager
    def _translate(self, operation: str, target: str,
                   not_found: exception.HybridhostError | None = None) -> Iterator[None]:
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
        except requests.exceptions.Timeout as err:
            reason = "no answer within %s s to %s %s" % (self.client.timeout, operation, target)
            raise exception.DockerUnavailable(url=self.url, reason=reason) from err
        except (requests.exceptions.RequestException, docker_errors.DockerException) as err:
            raise exception.DockerUnavailable(url=self.url, reason=err) from err

    # --- engine ---------------------------------------------------------------

    def check(self, min_api_version: str) -> dict[str, Any]:
        """Ping the engine; refuse one older than ``min_api_version``. Returns its version dict."""
        with self._translate("report", "its version"):
            info = self.client.version()
        api = info.get("ApiVersion", "0")
        if version_tuple(api) < version_tuple(min_api_version):
            reason = "API %s is older than the required %s" % (api, min_api_version)
            raise exception.DockerUnavailable(url=self.url, reason=reason)
        return info

    def labels_for(self, uuid: str, name: str,
                   extra: dict[str, str] | None = None) -> dict[str, str]:
        labels = {LABEL_UUID: uuid, LABEL_HOST: self.host, LABEL_NAME: name}
        labels.update(extra or {})
        return labels

    # --- containers -----------------------------------------------------------

    def _own_filter(self, uuid: str | None = None) -> dict[str, list[str]]:
        labels = ["%s=%s" % (LABEL_HOST, self.host)]
        labels.append("%s=%s" % (LABEL_UUID, uuid) if uuid else LABEL_UUID)
        return {"label": labels}

    def list_own(self) -> list[ContainerInfo]:
        """Every container of this service, as ContainerInfo."""
        with self._translate("list", "containers"):
            summaries = self.client.containers(all=True, filters=self._own_filter())
        found = []
        for summary in summaries:
            info = self.find_by_id(summary["Id"])
            if info is not None:
                found.append(info)
        return found

    def own_names(self) -> dict[str, str]:
        """``{instance uuid: instance name}`` of every container of this service, running
        or not, from one list call (nova asks for these lists periodically)."""
        with self._translate("list", "containers"):
            summaries = self.client.containers(all=True, filters=self._own_filter())
        labels = [summary.get("Labels") or {} for summary in summaries]
        return {label.get(LABEL_UUID, ""): label.get(LABEL_NAME, "") for label in labels}

    def running_uuids(self) -> list[str]:
        """The instances of this service whose container runs: one list call, no inspect."""
        with self._translate("list", "running containers"):
            summaries = self.client.containers(filters=self._own_filter())
        return [(summary.get("Labels") or {}).get(LABEL_UUID, "") for summary in summaries]

    def find_by_id(self, container_id: str) -> ContainerInfo | None:
        with self._translate("inspect", container_id):
            try:
                return _to_info(self.client.inspect_container(container_id))
            except docker_errors.NotFound:
                return None

    def find(self, uuid: str) -> ContainerInfo | None:
        """This service's container for instance ``uuid``, or None. One inspect by its
        name: a label-filtered list walks every container Docker has, at each call."""
        info = self.find_by_id(container_name(uuid))
        if info is not None and info.uuid == uuid and info.labels.get(LABEL_HOST) == self.host:
            return info
        return None

    def get(self, uuid: str) -> ContainerInfo:
        info = self.find(uuid)
        if info is None:
            raise exception.ContainerNotFound(uuid=uuid)
        return info

    def create(self, uuid: str, name: str, image_id: str, host_config_kwargs: dict[str, Any],
               hostname: str | None = None, command: list[str] | None = None,
               extra_labels: dict[str, str] | None = None) -> str:
        """Create (not start) the container of instance ``uuid``. Returns its id."""
        with self._translate("create a container for", uuid,
                             not_found=exception.ImageNotFound(ref=image_id)):
            log_config = docker_types.LogConfig(type=LOG_DRIVER, config=self.log_options)
            host_config = self.client.create_host_config(
                **dict(host_config_kwargs, log_config=log_config))
            try:
                limits.check_host_config(host_config)
            except ValueError as err:
                raise exception.UnsafeContainerConfig(uuid=uuid, reason=err) from None
            created = self.client.create_container(
                image_id, command=command, hostname=hostname, detach=True,
                name=container_name(uuid), labels=self.labels_for(uuid, name, extra_labels),
                host_config=host_config, network_disabled=False)
        container_id: str = created["Id"]
        LOG.info("Container %(id)s created for instance %(uuid)s",
                 {"id": container_id[:12], "uuid": uuid})
        return container_id

    def _act(self, operation: str, uuid: str, call: Callable[..., None], **kwargs: Any) -> None:
        info = self.get(uuid)
        with self._translate(operation, uuid, not_found=exception.ContainerNotFound(uuid=uuid)):
            call(info.id, **kwargs)
        LOG.info("Container of instance %(uuid)s: %(op)s done", {"uuid": uuid, "op": operation})

    def start(self, uuid: str) -> None:
        self._act("start", uuid, self.client.start)

    def stop(self, uuid: str, timeout: int) -> None:
        self._act("stop", uuid, self.client.stop, timeout=timeout)

    def kill(self, uuid: str) -> None:
        info = self.get(uuid)
        if info.status not in ("running", "paused", "restarting"):
            return
        self._act("kill", uuid, self.client.kill)

    def pause(self, uuid: str) -> None:
        self._act("pause", uuid, self.client.pause)

    def unpause(self, uuid: str) -> None:
        self._act("unpause", uuid, self.client.unpause)

    def remove(self, uuid: str) -> bool:
        """Force-remove the container of ``uuid`` and its anonymous volumes (an image's
        ``VOLUME``). False if there was none."""
        info = self.find(uuid)
        if info is None:
            return False
        with self._translate("remove", uuid):
            try:
                self.client.remove_container(info.id, force=True, v=True)
            except docker_errors.NotFound:
                return False
        LOG.info("Container %(id)s of instance %(uuid)s removed",
                 {"id": info.id[:12], "uuid": uuid})
        return True

    def logs(self, uuid: str, max_bytes: int) -> bytes:
        """The last ``max_bytes`` of the container's stdout and stderr.

        Docker reads its log file from the end (``tail``), and the stream is cut as it
        comes: neither side reads a whole log however large.
        """
        info = self.get(uuid)
        lines = max(1, max_bytes // CONSOLE_BYTES_PER_LINE)
        with self._translate("read the logs of", uuid):
            stream = self.client.logs(info.id, stdout=True, stderr=True, stream=True,
                                      follow=False, tail=lines)
            try:
                return _tail(stream, max_bytes)
            finally:
                stream.close()

    def commit(self, uuid: str, repository: str, tag: str) -> str:
        info = self.get(uuid)
        with self._translate("commit", uuid):
            result = self.client.commit(info.id, repository=repository, tag=tag)
        image_id: str = result["Id"]
        return image_id

    # --- files and exec ---------------------------------------------------------

    def put_files(self, uuid: str, tar_bytes: bytes, path: str = "/") -> None:
        """Extract a tar into the container of ``uuid`` at ``path`` (Docker's put_archive)."""
        info = self.get(uuid)
        with self._translate("copy files into", uuid):
            if not self.client.put_archive(info.id, path, tar_bytes):
                raise exception.DockerOperationFailed(
                    operation="copy files into", target=uuid, reason="put_archive failed")
        LOG.debug("Files put into the container of instance %s", uuid)

    def read_file(self, uuid: str, path: str, max_bytes: int = 1024 * 1024) -> bytes | None:
        """The content of the regular file ``path`` in the container, or None if absent."""
        info = self.get(uuid)
        with self._translate("read %s in" % path, uuid):
            try:
                stream, _stat = self.client.get_archive(info.id, path)
            except docker_errors.NotFound:
                return None
            raw = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            extracted = tar.extractfile(member) if member else None
            return extracted.read(max_bytes) if extracted else None

    def exec_attached(self, container_id: str, command: list[str], tty: bool) -> ExecSession:
        """Run ``command`` in a running container with its stdin, stdout and stderr attached
        to a socket: raw bytes with ``tty``, Docker's multiplexed frames without."""
        with self._translate("run a command in", container_id):
            exec_id: str = self.client.exec_create(container_id, command, stdin=True,
                                                   tty=tty)["Id"]
            raw: Any = self.client.exec_start(exec_id, tty=tty, socket=True)
        return ExecSession(exec_id, socket.socket(fileno=os.dup(raw.fileno())), raw)

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        with self._translate("resize", exec_id):
            self.client.exec_resize(exec_id, height=height, width=width)

    def exec_exit_code(self, exec_id: str) -> int | None:
        with self._translate("inspect", exec_id):
            code = self.client.exec_inspect(exec_id).get("ExitCode")
        return None if code is None else int(code)

    # --- images ---------------------------------------------------------------

    def inspect_image(self, ref: str) -> dict[str, Any]:
        with self._translate("inspect image", ref, not_found=exception.ImageNotFound(ref=ref)):
            image: dict[str, Any] = self.client.inspect_image(ref)
        return image

    def image_id(self, ref: str) -> str | None:
        """The image id ``ref`` resolves to, or None."""
        try:
            image_id: str = self.inspect_image(ref)["Id"]
        except exception.ImageNotFound:
            return None
        return image_id

    def load_image(self, data: IO[bytes] | Iterable[bytes]) -> list[Any]:
        """``docker load`` from an open tarball or an iterable of its chunks (sent as it
        is read); returns the engine's messages."""
        with self._translate("load", "an image tarball"):
            messages = list(self.client.load_image(data))
        errors = [m["error"] for m in messages if isinstance(m, dict) and m.get("error")]
        if errors:  # the engine reports load failures in the stream, not as HTTP errors
            raise exception.DockerOperationFailed(
                operation="load", target="an image tarball", reason="; ".join(errors))
        return messages

    def tag_image(self, image_id: str, repository: str, tag: str) -> None:
        with self._translate("tag", image_id, not_found=exception.ImageNotFound(ref=image_id)):
            self.client.tag(image_id, repository, tag=tag, force=True)

    def untag_image(self, ref: str) -> bool:
        """Remove a tag (or an untagged image). False if it did not exist."""
        with self._translate("remove image", ref):
            try:
                self.client.remove_image(ref)
            except docker_errors.NotFound:
                return False
        return True

    def tagged_images(self, repository_pattern: str, tag: str) -> list[tuple[str, str]]:
        """``(repository, image id)`` of every ``<repository>:<tag>`` whose repository
        matches the glob ``repository_pattern``."""
        with self._translate("list", "images"):
            summaries = self.client.images(filters={"reference": repository_pattern})
        found = []
        for summary in summaries:
            for repo_tag in summary.get("RepoTags") or ():
                repository, _, name = repo_tag.rpartition(":")
                if name == tag and fnmatch.fnmatchcase(repository, repository_pattern):
                    found.append((repository, summary["Id"]))
        return found

    def image_ids_in_use(self) -> set[str]:
        """The image ids of every container on the engine (any service's, any state)."""
        with self._translate("list", "containers"):
            summaries = self.client.containers(all=True)
        return {summary["ImageID"] for summary in summaries}

    def image_tagged_at(self, image_id: str) -> float:
        """When the image was last tagged (Unix time); its creation time if never."""
        image = self.inspect_image(image_id)
        tagged = parse_time((image.get("Metadata") or {}).get("LastTagTime", ""))
        return tagged or parse_time(image.get("Created", ""))

    def save_image(self, ref: str) -> Iterable[bytes]:
        """Chunks of a ``docker save`` tarball of ``ref``."""
        with self._translate("save", ref, not_found=exception.ImageNotFound(ref=ref)):
            chunks: Iterable[bytes] = self.client.get_image(ref)
        return chunks

    # --- events ---------------------------------------------------------------

    def events(self, since: int | None = None,
               until: int | None = None) -> "docker_types.CancellableStream[dict[str, Any]]":
        """A closable stream of this service's container events (decoded dicts).

        Endless unless ``until`` (a Unix time) is given.
        """
        filters = {"type": ["container"], "label": ["%s=%s" % (LABEL_HOST, self.host)]}
        with self._translate("stream", "events"):
            return self.client.events(since=since, until=until, filters=filters, decode=True)

