"""Hand-written fakes at hybridhost's seams (kept honest by tests/contract)."""

from hybridhost import exception
from hybridhost import supervisor_rpc


class FakeSupervisorClient:
    """In-memory supervisord: programs with states, the same calls and errors."""

    url = "unix:///fake/supervisor.sock"

    def __init__(self, programs):
        # programs: {"group:name": state}
        self._states = dict(programs)
        self._pids = {name: 1000 + i for i, name in enumerate(sorted(programs))}
        self._up = True

    def _check_up(self):
        if not self._up:
            raise exception.SupervisorUnreachable(url=self.url, reason="connection refused")

    def state(self):
        self._check_up()
        return "RUNNING"

    def pid(self):
        self._check_up()
        return 999

    def programs(self):
        self._check_up()
        result = []
        for full_name, state in sorted(self._states.items()):
            group, name = full_name.split(":")
            running = state == supervisor_rpc.RUNNING
            result.append(supervisor_rpc.ProgramState(
                group=group, name=name, state=state,
                pid=self._pids[full_name] if running else 0,
                description="pid %d, uptime 0:00:01" % self._pids[full_name]
                if running else "Not started"))
        return result

    def reload_config(self):
        self._check_up()
        return [], [], []

    def start(self, name, wait=False):
        self._check_up()
        self._require(name)
        self._states[name] = supervisor_rpc.RUNNING
        return True

    def stop(self, name, wait=True):
        self._check_up()
        self._require(name)
        self._states[name] = "STOPPED"
        return True

    def stop_group(self, group, wait=True):
        for name in [n for n in self._states if n.split(":")[0] == group]:
            self.stop(name, wait)
        return []

    def _require(self, name):
        if name not in self._states:
            raise exception.SupervisorFault(call="start/stop", fault="BAD_NAME: %s" % name)

    def start_all(self):
        self._check_up()
        for name in self._states:
            self._states[name] = supervisor_rpc.RUNNING
        return []

    def stop_all(self):
        self._check_up()
        for name in self._states:
            self._states[name] = "STOPPED"
        return []

    def shutdown(self):
        self._check_up()
        self._up = False
        return True
