"""Hand-written fakes for the Docker driver's seams (no root, no daemons).

* :class:`FakeDockerClient` - the subset of ``docker.APIClient`` the engine adapter
  uses, with Docker's state rules and error types. The contract tests in
  ``tests/contract/engine_contract.py`` run the same assertions against it and
  against a real dockerd, so it cannot drift silently.

The OVS and privileged-net fakes live in :mod:`tests.unit.virt_docker.fake_plumbing`.
"""

import fnmatch
import hashlib
import io
import itertools
import json
import posixpath
import tarfile
import threading
import time

import docker
from docker import errors as docker_errors

API_VERSION = "1.41"
#: Where dockerd keeps its sandboxes (``<exec-root>/netns``); a fake path, never opened.
SANDBOX_DIR = "/var/run/docker/netns/"
_NO_TIME = "0001-01-01T00:00:00Z"


def _rfc3339(when):
    """Docker's way: nanoseconds, 'Z'."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))
    return "%s.%09dZ" % (stamp, int(when % 1 * 1e9))


class FakeLogStream:
    """What ``APIClient.logs(stream=True)`` returns: iterable and closable."""

    def __init__(self, lines):
        self.lines = lines
        self.closed = False

    def __iter__(self):
        return iter(self.lines)

    def close(self):
        self.closed = True


class _Response:
    def __init__(self, status, reason):
        self.status_code = status
        self.reason = reason
        self.url = "fake"


def _api_error(cls, status, message):
    return cls(message, response=_Response(status, message), explanation=message)


class FakeEventStream:
    """What ``APIClient.events(decode=True)`` returns: iterable and closable."""

    def __init__(self, client, since, until, filters):
        self.client = client
        self.position = 0
        self.since = since
        self.until = until
        self.filters = filters or {}
        self.closed = False

    def close(self):
        self.closed = True
        with self.client.events_cond:
            self.client.events_cond.notify_all()

    def _matches(self, event):
        labels = event["Actor"]["Attributes"]
        for wanted in self.filters.get("label", []):
            key, _, value = wanted.partition("=")
            if key not in labels or (value and labels[key] != value):
                return False
        types = self.filters.get("type")
        return not types or event["Type"] in types

    def __iter__(self):
        while not self.closed:
            with self.client.events_cond:
                if self.position >= len(self.client.event_log):
                    if self.until is not None:
                        return
                    self.client.events_cond.wait(0.1)
                    continue
                event = self.client.event_log[self.position]
                self.position += 1
            if self.since is not None and event["time"] < int(self.since):
                continue
            if self._matches(event):
                yield event


class FakeDockerClient:
    """An in-memory Docker engine behind the ``APIClient`` method names."""

    def __init__(self):
        self.containers_by_id = {}
        self.images_by_id = {}
        self.tags = {}
        self.event_log = []
        self.events_cond = threading.Condition()
        self.logs_by_id = {}
        self.log_reads = []  # lines each logs() call read
        self.removed_volumes_of = []  # containers removed with v=True
        self.now = time.time  # the clock tags are stamped with
        #: container id -> {absolute path: (data or None for a directory, mode, uid, gid)}
        self.files_by_id = {}
        self._pids = itertools.count(4000)
        self._ids = itertools.count(1)
        self.api_version = API_VERSION
        #: Called with the sandbox path of every container process that ends (its netns goes).
        self.exit_listeners = []
        self.loaded_tarballs = []  # the bytes each load_image() received
        self.tag_log = []  # (name, image id) of every tag ever applied

    # --- helpers ---------------------------------------------------------------

    def _new_id(self):
        return hashlib.sha256(b"fake-%d" % next(self._ids)).hexdigest()

    def _container(self, ref):
        ref = ref.lstrip("/")
        for cid, container in self.containers_by_id.items():
            if cid == ref or cid.startswith(ref) or container["Name"] == "/" + ref:
                return container
        raise _api_error(docker_errors.NotFound, 404, "No such container: %s" % ref)

    def _image(self, ref):
        if ref in self.images_by_id:
            return self.images_by_id[ref]
        full = ref if ":" in ref.split("/")[-1] else ref + ":latest"
        if full in self.tags:
            return self.images_by_id[self.tags[full]]
        raise _api_error(docker_errors.ImageNotFound, 404, "No such image: %s" % ref)

    def _emit(self, container, action):
        with self.events_cond:
            self.event_log.append({
                "Type": "container", "Action": action, "status": action, "id": container["Id"],
                "time": int(time.time()), "timeNano": time.time_ns(),
                "Actor": {"ID": container["Id"],
                          "Attributes": dict(container["Config"]["Labels"],
                                             name=container["Name"].lstrip("/"))}})
            self.events_cond.notify_all()

    def _set_state(self, container, status, pid=0):
        if container["State"]["Pid"] not in (0, pid):
            self._exited(container)
        if pid and pid != container["State"]["Pid"]:  # a new process, a new sandbox
            container["NetworkSettings"]["SandboxKey"] = SANDBOX_DIR + self._new_id()[:12]
        elif not pid:
            container["NetworkSettings"]["SandboxKey"] = ""
        container["State"].update(Status=status, Pid=pid, Running=status == "running",
                                  Paused=status == "paused")

    def _exited(self, container):
        for listener in self.exit_listeners:
            listener(container["NetworkSettings"]["SandboxKey"])

    def _conflict(self, message):
        return _api_error(docker_errors.APIError, 409, message)

    def add_image(self, repo_tag=None, config=None):
        """Put an image on the fake engine directly; returns its id (= sha256 of its config)."""
        raw = json.dumps({"config": config or {}, "nonce": self._new_id()}).encode()
        image_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        self.images_by_id[image_id] = {"Id": image_id, "RepoTags": [], "Config": config or {},
                                       "Created": _NO_TIME,
                                       "Metadata": {"LastTagTime": _NO_TIME},
                                       "_raw_config": raw}
        if repo_tag:
            self.tag(image_id, *repo_tag.rsplit(":", 1))
        return image_id

    # --- daemon ----------------------------------------------------------------

    def version(self, api_version=True):
        return {"ApiVersion": self.api_version, "Version": "20.10.24", "MinAPIVersion": "1.12"}

    def ping(self):
        return True

    def events(self, since=None, until=None, filters=None, decode=None):
        return FakeEventStream(self, since, until, filters)

    # --- containers ------------------------------------------------------------

    def create_host_config(self, **kwargs):
        return docker.types.HostConfig(version=self.api_version, **kwargs)

    def create_container(self, image, command=None, hostname=None, detach=False, name=None,
                         labels=None, host_config=None, network_disabled=False, **_ignored):
        found = self._image(image)
        if name and any(c["Name"] == "/" + name for c in self.containers_by_id.values()):
            raise self._conflict("Conflict. The container name \"/%s\" is already in use" % name)
        cid = self._new_id()
        self.containers_by_id[cid] = {
            "Id": cid, "Name": "/" + (name or cid[:12]), "Image": found["Id"],
            "State": {"Status": "created", "Pid": 0, "Running": False, "Paused": False},
            "Config": {"Labels": dict(labels or {}), "Cmd": command, "Hostname": hostname},
            "HostConfig": dict(host_config or {}),
            "NetworkSettings": {"SandboxKey": ""},
        }
        self.logs_by_id[cid] = b""
        self.files_by_id[cid] = {"/": (None, 0o755, 0, 0)}
        return {"Id": cid, "Warnings": []}

    def containers(self, quiet=False, all=False, filters=None, **_ignored):
        found = []
        for container in self.containers_by_id.values():
            if not all and container["State"]["Status"] != "running":
                continue
            if self._labels_match(container, (filters or {}).get("label", [])):
                found.append({"Id": container["Id"], "Names": [container["Name"]],
                              "ImageID": container["Image"],
                              "Labels": dict(container["Config"]["Labels"])})
        return found

    @staticmethod
    def _labels_match(container, wanted):
        if isinstance(wanted, str):
            wanted = [wanted]
        labels = container["Config"]["Labels"]
        for item in wanted:
            key, sep, value = item.partition("=")
            if key not in labels or (sep and labels[key] != value):
                return False
        return True

    def inspect_container(self, container):
        return json.loads(json.dumps(self._container(container)))

    def start(self, container):
        found = self._container(container)
        if found["State"]["Status"] in ("running", "paused"):
            return  # Docker answers 304 Not Modified
        self._set_state(found, "running", next(self._pids))
        found["State"].update(OOMKilled=False, ExitCode=0)
        self.logs_by_id[found["Id"]] += b"hybridhost-console-ok\n"
        self._emit(found, "start")

    def stop(self, container, timeout=None):
        found = self._container(container)
        if found["State"]["Status"] not in ("running", "paused", "restarting"):
            return  # 304
        self._set_state(found, "exited")
        self._emit(found, "die")
        self._emit(found, "stop")

    def oom_kill(self, container):
        """What the kernel's OOM killer does to a container's init (no API call)."""
        found = self._container(container)
        self._emit(found, "oom")
        self._set_state(found, "exited")
        found["State"].update(OOMKilled=True, ExitCode=137,
                              FinishedAt="2026-11-26T02:00:00.000000000Z")
        self._emit(found, "die")

    def kill(self, container, signal=None):
        found = self._container(container)
        if found["State"]["Status"] != "running":
            raise self._conflict("Container %s is not running" % found["Id"])
        self._set_state(found, "exited")
        self._emit(found, "kill")
        self._emit(found, "die")

    def pause(self, container):
        found = self._container(container)
        if found["State"]["Status"] != "running":
            raise self._conflict("Container %s is not running" % found["Id"])
        self._set_state(found, "paused", found["State"]["Pid"])
        self._emit(found, "pause")

    def unpause(self, container):
        found = self._container(container)
        if found["State"]["Status"] != "paused":
            raise self._conflict("Container %s is not paused" % found["Id"])
        self._set_state(found, "running", found["State"]["Pid"])
        self._emit(found, "unpause")

    def remove_container(self, container, v=False, link=False, force=False):
        found = self._container(container)
        if v:
            self.removed_volumes_of.append(found["Id"])
        if found["State"]["Status"] in ("running", "paused") and not force:
            raise self._conflict("You cannot remove a running container")
        if found["State"]["Status"] in ("running", "paused"):
            self._exited(found)
            self._emit(found, "die")
        del self.containers_by_id[found["Id"]]
        self.files_by_id.pop(found["Id"], None)
        self._emit(found, "destroy")

    def logs(self, container, stdout=True, stderr=True, stream=False, follow=None,
             tail="all", **_ignored):
        """Like dockerd: ``tail`` lines from the end; ``stream`` yields them one by one."""
        lines = self.logs_by_id[self._container(container)["Id"]].splitlines(keepends=True)
        if tail != "all":
            lines = lines[-int(tail):] if int(tail) else []
        self.log_reads.append(len(lines))
        return FakeLogStream(lines) if stream else b"".join(lines)

    def put_archive(self, container, path, data):
        """Docker's rules: ``path`` must be an existing directory; missing parents of a
        member are made 0755 root; members keep their mode and owner."""
        files = self.files_by_id[self._container(container)["Id"]]
        if (files.get(path) or (b"",))[0] is not None:
            raise _api_error(docker_errors.NotFound, 404, "Could not find the file %s" % path)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                target = posixpath.normpath(posixpath.join(path, member.name))
                self._make_parents(files, target)
                content = tar.extractfile(member).read() if member.isfile() else None
                files[target] = (content, member.mode, member.uid, member.gid)
        return True

    @staticmethod
    def _make_parents(files, target):
        parent = posixpath.dirname(target)
        while parent not in files:
            files[parent] = (None, 0o755, 0, 0)
            parent = posixpath.dirname(parent)

    def get_archive(self, container, path, chunk_size=None, encode_stream=False):
        """A tar of ``path`` named by its base name, with everything under it."""
        files = self.files_by_id[self._container(container)["Id"]]
        if path not in files:
            raise _api_error(docker_errors.NotFound, 404, "Could not find the file %s" % path)
        base = posixpath.dirname(path)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name in sorted(n for n in files if n == path or n.startswith(path + "/")):
                content, mode, uid, gid = files[name]
                info = tarfile.TarInfo(posixpath.relpath(name, base))
                info.mode, info.uid, info.gid = mode, uid, gid
                if content is None:
                    info.type = tarfile.DIRTYPE
                else:
                    info.size = len(content)
                tar.addfile(info, io.BytesIO(content) if content is not None else None)
        return iter([buf.getvalue()]), {"name": posixpath.basename(path)}

    def commit(self, container, repository=None, tag=None, **_ignored):
        found = self._container(container)
        config = dict(self.images_by_id[found["Image"]]["Config"], parent=found["Image"])
        if found["Config"]["Cmd"]:  # like Docker: the container's command becomes the CMD
            config["Cmd"] = found["Config"]["Cmd"]
        image_id = self.add_image(config=config)
        if repository:
            self.tag(image_id, repository, tag or "latest")
        return {"Id": image_id}

    # --- images ----------------------------------------------------------------

    def inspect_image(self, image):
        found = dict(self._image(image))
        found.pop("_raw_config")
        return json.loads(json.dumps(found))

    def tag(self, image, repository, tag=None, force=False):
        found = self._image(image)
        name = "%s:%s" % (repository, tag or "latest")
        old = self.tags.get(name)
        if old and old in self.images_by_id:
            self.images_by_id[old]["RepoTags"].remove(name)
        self.tags[name] = found["Id"]
        self.tag_log.append((name, found["Id"]))
        if name not in found["RepoTags"]:
            found["RepoTags"].append(name)
        found["Metadata"]["LastTagTime"] = _rfc3339(self.now())
        return True

    def images(self, name=None, quiet=False, all=False, filters=None):
        pattern = (filters or {}).get("reference")
        return [{"Id": image["Id"], "RepoTags": list(image["RepoTags"])}
                for image in self.images_by_id.values()
                if not pattern or any(fnmatch.fnmatchcase(tag.rpartition(":")[0], pattern)
                                      for tag in image["RepoTags"])]

    def remove_image(self, image, force=False, noprune=False):
        """Docker's rules: a tag among others is only untagged; the last tag, or the id,
        deletes the image - refused while a container uses it."""
        found = self._image(image)
        name = image if image in found["RepoTags"] else image + ":latest"
        if name in found["RepoTags"] and len(found["RepoTags"]) > 1:
            found["RepoTags"].remove(name)
            del self.tags[name]
            return [{"Untagged": name}]
        if any(c["Image"] == found["Id"] for c in self.containers_by_id.values()):
            raise self._conflict("conflict: unable to remove %s: image is being used by a "
                                 "container" % image)
        for tag in list(found["RepoTags"]):
            del self.tags[tag]
        del self.images_by_id[found["Id"]]
        return [{"Deleted": found["Id"]}]

    def load_image(self, data, quiet=None):
        """Docker's load rules: manifest.json, every referenced file, config digest = id."""
        raw = data.read() if hasattr(data, "read") else b"".join(data)
        self.loaded_tarballs.append(raw)
        try:
            with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
                manifest = json.load(tar.extractfile("manifest.json"))
                loaded = [self._load_entry(tar, entry) for entry in manifest]
        except (tarfile.TarError, KeyError, ValueError) as err:
            # like dockerd: the failure comes back in the message stream, with HTTP 200
            message = "Error processing tar file: %s" % err
            return iter([{"errorDetail": {"message": message}, "error": message}])
        return iter([{"stream": "Loaded image ID: %s\n" % image_id} for image_id in loaded])

    def _load_entry(self, tar, entry):
        config = tar.extractfile(entry["Config"]).read()
        for layer in entry.get("Layers") or []:
            tar.getmember(layer)
        image_id = "sha256:" + hashlib.sha256(config).hexdigest()
        self.images_by_id.setdefault(image_id, {"Id": image_id, "RepoTags": [],
                                                "Config": json.loads(config).get("config", {}),
                                                "Created": _NO_TIME,
                                                "Metadata": {"LastTagTime": _NO_TIME},
                                                "_raw_config": config})
        for repo_tag in entry.get("RepoTags") or []:
            self.tag(image_id, *repo_tag.rsplit(":", 1))
        return image_id

    def get_image(self, image, chunk_size=None):
        """A classic ``docker save`` tarball of ``image`` (config + one empty layer)."""
        found = self._image(image)
        layer = b""
        config = found["_raw_config"]
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            config_name = hashlib.sha256(config).hexdigest() + ".json"
            tags = [image] if image in found["RepoTags"] else list(found["RepoTags"])
            for name, content in ((config_name, config), ("l/layer.tar", layer), (
                    "manifest.json", json.dumps([{"Config": config_name, "RepoTags": tags,
                                                  "Layers": ["l/layer.tar"]}]).encode())):
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        data = buf.getvalue()
        return iter([data[i:i + 4096] for i in range(0, len(data), 4096)])
