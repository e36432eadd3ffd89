"""Is each part alive? Processes through /proc, daemons through their own API (their
wire protocols, spoken by ``wire``).

Every daemon probe runs in a worker thread under one deadline, so a daemon that does
not answer costs the round at most ``timeout`` seconds; a probe still running from an
earlier round is not started twice. Results are plain data; deciding is ``repairs``'s.
"""

import concurrent.futures
import dataclasses
import glob
import os
import time
import urllib.parse

from hybridhost.watcher import wire

#: The kernel's process states (``/proc/<pid>/stat``), named as psutil names them.
STATES = {"R": "running", "S": "sleeping", "D": "disk-sleep", "T": "stopped",
          "t": "tracing-stop", "Z": "zombie", "X": "dead", "x": "dead", "I": "idle",
          "P": "parked", "W": "waking", "K": "wake-kill"}
#: Statuses of a process that cannot make progress.
HUNG = ("stopped", "tracing-stop")
DEAD = ("zombie", "dead")
PAGE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: libvirtd's read-only socket, or the modular daemon's, for a system URI.
LIBVIRT_RUN_DIR = "/var/run/libvirt"
LIBVIRT_SOCKETS = ("libvirt-sock-ro", "virtqemud-sock-ro")


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
    """Programs' processes read from ``/proc/<pid>/stat`` and ``statm``, kept between
    rounds for CPU figures. psutil reads the same files but weighs 3.5 MB, an eighth of
    the watcher's budget, for three numbers; the states are named as psutil names them."""

    def __init__(self, proc_root="/proc", clock=time.monotonic):
        self.proc_root, self.clock = proc_root, clock
        self._last = {}     # pid: (start time, CPU ticks, when)

    def _read(self, pid, name):
        with open(os.path.join(self.proc_root, str(pid), name)) as handle:
            return handle.read()

    def facts(self, pid):
        try:
            stat, statm = self._read(pid, "stat"), self._read(pid, "statm")
        except (FileNotFoundError, ProcessLookupError):
            self._last.pop(pid, None)
            return ProcessFacts(pid, False)
        except OSError:
            return ProcessFacts(pid, True)
        # 'pid (comm) state ...': comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2:].split()
        ticks, started = int(fields[11]) + int(fields[12]), fields[19]
        return ProcessFacts(pid, True, STATES.get(fields[0], fields[0]),
                            int(statm.split()[1]) * PAGE, self._cpu(pid, started, ticks))

    def _cpu(self, pid, started, ticks):
        """Percent of one core since the last look (0.0 at the first, as psutil)."""
        now, last = self.clock(), self._last.get(pid)
        self._last[pid] = (started, ticks, now)
        if last is None or last[0] != started or now <= last[2]:
            return 0.0
        return (ticks - last[1]) / CLOCK_TICKS / (now - last[2]) * 100

    def forget_others(self, pids):
        for pid in set(self._last) - set(pids):
            del self._last[pid]


def ovsdb(target, timeout):
    """OVSDB answers ``list_dbs`` and serves the Open_vSwitch database."""
    try:
        dbs = wire.jsonrpc(target, "list_dbs", [], timeout)
    except wire.WireError as err:
        return str(err)
    return None if "Open_vSwitch" in (dbs or ()) else "%s does not serve Open_vSwitch" % target


def unixctl(target, timeout):
    """ovs-vswitchd answers ``version`` on its control socket."""
    path = control_socket(target)
    if path is None:
        return "%s: no control socket" % target
    try:
        wire.jsonrpc("unix:" + path, "version", [], timeout)
    except wire.WireError as err:
        return str(err)
    return None


def control_socket(target):
    """The control socket of the ovs-vswitchd running beside ``target``, found as
    ``ovs-appctl -t ovs-vswitchd`` finds it: ``<pid>.ctl`` from the pidfile first
    (started outside hybridhost, ovs-vswitchd names its socket after its pid, and a
    killed one leaves its socket behind, so a name alone may reach a dead daemon), then
    ``target``, then the last pid-named socket. None when there is none."""
    directory = os.path.dirname(target)
    try:
        with open(os.path.join(directory, "ovs-vswitchd.pid")) as handle:
            by_pid = os.path.join(directory, "ovs-vswitchd.%d.ctl" % int(handle.read()))
    except (OSError, ValueError):
        by_pid = None
    if by_pid is not None and os.path.exists(by_pid):
        return by_pid
    if os.path.exists(target):
        return target
    found = sorted(glob.glob(os.path.join(directory, "ovs-vswitchd.*.ctl")))
    return found[-1] if found else None


def docker(target, timeout):
    """The engine answers ``GET /_ping`` with OK."""
    try:
        status, body = wire.http_get(target, "/_ping", timeout)
    except wire.WireError as err:
        return str(err)
    return None if status == 200 else "%s: /_ping answered %d %s" % (
        target, status, body[:80].decode("utf-8", "replace"))


def libvirt_socket(uri):
    """``(socket path, URI to open)`` of a local libvirt URI such as
    ``qemu:///system`` or ``qemu+unix:///system?socket=PATH``."""
    parsed = urllib.parse.urlsplit(uri)
    driver, _, transport = parsed.scheme.partition("+")
    if transport not in ("", "unix") or parsed.netloc:
        raise wire.WireError("%s: only a local libvirt URI is probed" % uri)
    local = "%s://%s" % (driver, parsed.path)
    given = urllib.parse.parse_qs(parsed.query).get("socket")
    if given:
        return given[0], local
    if parsed.path != "/system":
        raise wire.WireError("%s: only a system URI is probed" % uri)
    for name in LIBVIRT_SOCKETS:
        path = os.path.join(LIBVIRT_RUN_DIR, name)
        if os.path.exists(path):
            return path, local
    return os.path.join(LIBVIRT_RUN_DIR, LIBVIRT_SOCKETS[0]), local


def libvirt(target, timeout):
    """libvirtd opens the URI read-only and tells its library version."""
    try:
        path, uri = libvirt_socket(target)
        wire.libvirt_version(path, uri, timeout)
    except wire.WireError as err:
        return str(err)
    return None


KINDS = {"ovsdb": ovsdb, "unixctl": unixctl, "docker": docker, "libvirt": libvirt}


class Deadlines:
    """Runs named probes concurrently; each answers within ``timeout`` or counts as none."""

    def __init__(self, workers=6):
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

    def submit(self, call):
        """Run ``call`` in the background: a future of ``timed(call)``."""
        return self._pool.submit(timed, call)

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
