"""Is each part alive? Processes through psutil, daemons through their own API.

Every daemon probe runs in a worker thread under one deadline, so a daemon that does
not answer costs the round at most ``timeout`` seconds; a probe still running from an
earlier round is not started twice. Results are plain data; deciding is ``repairs``'s.
"""

import concurrent.futures
import dataclasses
import glob
import os
import time

import psutil

from hybridhost import exception
from hybridhost import readiness

#: psutil statuses of a process that cannot make progress.
HUNG = (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
DEAD = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


@dataclasses.dataclass(frozen=True)
class ProcessFacts:
    pid: int
    present: bool
    status: str | None = None
    rss: int | None = None
    cpu_percent: float | None = None

    @property
    def hung(self):
        return self.status in HUNG

    @property
    def dead(self):
        return not self.present or self.status in DEAD


@dataclasses.dataclass(frozen=True)
class Answer:
    """One probe's outcome: ``reason`` None means it answered, in ``latency`` s."""

    reason: str | None
    latency: float | None = None
    timed_out: bool = False

    @property
    def ok(self):
        return self.reason is None


class Processes:
    """psutil views of programs' processes, kept between rounds for CPU figures."""

    def __init__(self):
        self._known = {}

    def facts(self, pid):
        try:
            proc = self._known.get(pid) or psutil.Process(pid)
            with proc.oneshot():
                facts = ProcessFacts(pid, True, proc.status(), proc.memory_info().rss,
                                     proc.cpu_percent(None))
        except psutil.NoSuchProcess:
            self._known.pop(pid, None)
            return ProcessFacts(pid, False)
        except psutil.AccessDenied:
            return ProcessFacts(pid, True)
        self._known[pid] = proc
        return facts

    def forget_others(self, pids):
        for pid in set(self._known) - set(pids):
            del self._known[pid]


def ovsdb(target, timeout):
    return readiness.ovsdb(target, timeout)


def unixctl(target, timeout):
    """ovs-vswitchd answers ``version`` on its control socket."""
    path = target
    if not os.path.exists(path):
        # Started outside hybridhost, ovs-vswitchd names its socket after its pid.
        found = sorted(glob.glob(os.path.join(os.path.dirname(target), "ovs-vswitchd.*.ctl")))
        if not found:
            return "%s: no control socket" % target
        path = found[-1]
    try:
        readiness.ovsdb_request("unix:" + path, "version", [], timeout)
    except exception.OvsdbUnavailable as err:
        return "%s: %s" % (path, err.kwargs["reason"])
    return None


def docker(target, timeout):
    return readiness.docker_engine(target, timeout)


def libvirt(target, timeout):
    """libvirtd answers a read-only connection and its version (the deadline is the
    runner's: libvirt's client has no timeout of its own)."""
    import libvirt as libvirt_api

    libvirt_api.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        connection = libvirt_api.openReadOnly(target)
        try:
            connection.getLibVersion()
        finally:
            connection.close()
    except libvirt_api.libvirtError as err:
        return "%s: %s" % (target, err.get_error_message() or err)
    return None


KINDS = {"ovsdb": ovsdb, "unixctl": unixctl, "docker": docker, "libvirt": libvirt}


class Deadlines:
    """Runs named probes concurrently; each answers within ``timeout`` or counts as none."""

    def __init__(self, workers=8):
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="probe")
        self._running = {}

    def run(self, calls, timeout):
        """``calls``: ``{name: fn() -> reason or None}`` -> ``{name: Answer}``."""
        started = time.monotonic()
        answers, futures = {}, {}
        for name, call in calls.items():
            previous = self._running.get(name)
            if previous is not None and not previous[0].done():
                answers[name] = Answer("no answer: its probe of %.0f s ago still waits"
                                       % (started - previous[1]), timed_out=True)
                continue
            futures[name] = self._pool.submit(timed, call)
            self._running[name] = (futures[name], started)
        concurrent.futures.wait(futures.values(), timeout=timeout)
        for name, future in futures.items():
            answers[name] = answer_of(future, timeout)
        return answers

    def shutdown(self):
        self._pool.shutdown(wait=False, cancel_futures=True)


def timed(call):
    started = time.monotonic()
    reason = call()
    return reason, time.monotonic() - started


def answer_of(future, timeout):
    if not future.done():
        return Answer("no answer within %s s" % timeout, timed_out=True)
    try:
        reason, latency = future.result()
    except Exception as err:  # noqa: BLE001 - a probe's own error is its answer
        return Answer("probe failed: %s: %s" % (type(err).__name__, err))
    return Answer(reason, latency)
