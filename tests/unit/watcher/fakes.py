"""Fakes for the watcher's seams: a clock, processes, daemon probes and an RPC pinger."""

from hybridhost.watcher import probes
from hybridhost.watcher import rpc
from hybridhost.watcher import topology


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class FakeProcesses:
    """``status[pid]``: psutil status; a pid absent from it is gone."""

    def __init__(self):
        self.status = {}

    def facts(self, pid):
        if pid not in self.status:
            return probes.ProcessFacts(pid, False)
        return probes.ProcessFacts(pid, True, self.status[pid], 10 * 2 ** 20, 1.0)

    def forget_others(self, pids):
        list(pids)


class FakePinger:
    """``answers[(topic, server)]``: None (pong), rpc.SILENT or rpc.BUS."""

    def __init__(self):
        self.answers = {}
        self.calls = []

    def ping_all(self, targets):
        found = {}
        for exchange, topic, server in targets:
            self.calls.append((topic, server))
            kind = self.answers.get((topic, server))
            found[(exchange, topic, server)] = (
                (None, None, 0.002) if kind is None
                else (kind, "%s: %s.%s" % (kind, topic, server), None))
        return found


class InlineDeadlines:
    """Runs the calls in the caller's thread (the real one's threads are tested alone)."""

    def run(self, calls, timeout):
        return {name: probes.answer_of(_done(call), timeout) for name, call in calls.items()}

    def submit(self, call):
        return _done(call)


class _done:
    def __init__(self, call):
        self._result = self._error = None
        try:
            self._result = probes.timed(call)
        except Exception as err:  # noqa: BLE001 - kept like a future keeps it
            self._error = err

    def done(self):
        return True

    def result(self):
        if self._error is not None:
            raise self._error
        return self._result


def topo(tmp_path, programs=(), services=(), **settings):
    settings.setdefault("state_file", str(tmp_path / "state.json"))
    return topology.Topology(topology.Settings(**settings),
                             {p.name: p for p in programs}, tuple(services))


SILENT, BUS = rpc.SILENT, rpc.BUS
