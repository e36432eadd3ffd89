"""One contract for the supervisord seam, run against the fake and the real supervisord.

Subclasses provide ``client`` with three programs in group ``demo``: ``sleeper``
RUNNING, and two that supervisord does not start on its own: ``quitter``, which exits
at once (so a start that waits for it is a SPAWN_ERROR), and ``missing``, whose command
does not exist (NO_FILE).
"""

import pytest

from hybridhost import exception

SLEEPER, QUITTER, MISSING = "demo:sleeper", "demo:quitter", "demo:missing"


class SupervisorClientContract:
    client = None

    def program(self, name):
        (program,) = [p for p in self.client.programs() if p.full_name == name]
        return program

    def test_state_is_running(self):
        assert self.client.state() == "RUNNING"

    def test_programs_report_group_name_state_and_pid(self):
        programs = {p.full_name: p for p in self.client.programs()}
        assert set(programs) == {SLEEPER, QUITTER, MISSING}
        program = programs[SLEEPER]
        assert program.state == "RUNNING" and program.running
        assert program.pid > 0
        assert "pid %d" % program.pid in program.description
        assert programs[QUITTER].state == programs[MISSING].state == "STOPPED"
        assert programs[QUITTER].pid == programs[MISSING].pid == 0

    def test_stop_all_then_start_all(self):
        self.client.stop_all()
        program = self.program(SLEEPER)
        assert program.state == "STOPPED" and not program.running and program.pid == 0
        self.client.start_all()
        # start_all does not wait for startsecs: STARTING first, then RUNNING.
        assert self.program(SLEEPER).state in ("STARTING", "RUNNING")

    def test_signal_a_running_program_and_not_a_stopped_one(self):
        """The watcher continues a stopped (SIGSTOP) process before restarting it."""
        assert self.client.signal(SLEEPER, "CONT") is True
        assert self.program(SLEEPER).state == "RUNNING"
        with pytest.raises(exception.ProgramAlreadyStopped):
            self.client.signal(QUITTER, "CONT")

    def test_stop_and_start_one_program(self):
        self.client.stop(SLEEPER)
        assert self.program(SLEEPER).state == "STOPPED"
        self.client.start(SLEEPER)
        assert self.program(SLEEPER).state in ("STARTING", "RUNNING")

    @pytest.mark.parametrize("action", ["start", "stop"])
    def test_unknown_program_is_bad_name(self, action):
        with pytest.raises(exception.SupervisorFault) as caught:
            getattr(self.client, action)("demo:nope")
        err = caught.value
        assert (err.code, err.fault, err.target) == (10, "BAD_NAME", "demo:nope")
        assert str(err) == "supervisord refused to %s demo:nope: BAD_NAME" % action

    def test_unknown_group_is_bad_name(self):
        with pytest.raises(exception.SupervisorFault) as caught:
            self.client.stop_group("nope")
        assert (caught.value.code, caught.value.target) == (10, "nope")

    def test_stopping_a_stopped_program_is_not_running(self):
        self.client.stop(SLEEPER)
        with pytest.raises(exception.ProgramAlreadyStopped) as caught:
            self.client.stop(SLEEPER)
        assert (caught.value.code, caught.value.fault) == (70, "NOT_RUNNING")
        assert str(caught.value) == "supervisord refused to stop demo:sleeper: NOT_RUNNING"

    def test_starting_a_running_program_is_already_started(self):
        with pytest.raises(exception.ProgramAlreadyStarted) as caught:
            self.client.start(SLEEPER)
        assert (caught.value.code, caught.value.fault) == (60, "ALREADY_STARTED")

    def test_a_missing_command_is_no_file(self):
        with pytest.raises(exception.SupervisorFault) as caught:
            self.client.start(MISSING)
        err = caught.value
        assert (err.code, err.fault, err.target) == (20, "NO_FILE", MISSING)
        assert str(err).startswith("supervisord refused to start demo:missing: NO_FILE (")
        assert not isinstance(err, (exception.ProgramAlreadyStarted,
                                    exception.ProgramAlreadyStopped))
        assert self.program(MISSING).state == "STOPPED"

    def test_a_program_that_exits_at_once_is_a_spawn_error(self):
        with pytest.raises(exception.SupervisorFault) as caught:
            self.client.start(QUITTER, wait=True)
        err = caught.value
        assert (err.code, err.fault, err.target) == (50, "SPAWN_ERROR", QUITTER)
        assert str(err) == "supervisord refused to start demo:quitter: SPAWN_ERROR"
        assert not self.program(QUITTER).running

    def test_ensure_stopped_tolerates_only_not_running(self):
        assert self.client.ensure_stopped(SLEEPER) is True
        assert self.client.ensure_stopped(SLEEPER) is False
        assert self.program(SLEEPER).state == "STOPPED"
        with pytest.raises(exception.SupervisorFault, match="BAD_NAME"):
            self.client.ensure_stopped("demo:nope")

    def test_ensure_started_tolerates_only_already_started(self):
        assert self.client.ensure_started(SLEEPER) is False
        self.client.stop(SLEEPER)
        assert self.client.ensure_started(SLEEPER) is True
        assert self.program(SLEEPER).state in ("STARTING", "RUNNING")
        with pytest.raises(exception.SupervisorFault, match="NO_FILE"):
            self.client.ensure_started(MISSING)

    def test_restart_starts_a_new_process_running_or_not(self):
        before = self.program(SLEEPER).pid
        self.client.restart(SLEEPER)
        self.wait_running(SLEEPER)
        after = self.program(SLEEPER).pid
        assert after not in (0, before)
        self.client.stop(SLEEPER)
        self.client.restart(SLEEPER)
        self.wait_running(SLEEPER)
        assert self.program(SLEEPER).pid not in (0, after)

    def test_restart_raises_what_it_does_not_tolerate(self):
        with pytest.raises(exception.SupervisorFault, match="NO_FILE"):
            self.client.restart(MISSING)

    def test_stop_group(self):
        self.client.stop_group("demo")
        assert self.program(SLEEPER).state == "STOPPED"

    def test_reload_without_change_is_a_no_op(self):
        assert tuple(self.client.reload_config()) == ([], [], [])

    def test_after_shutdown_it_is_unreachable(self):
        self.client.shutdown()
        self.wait_gone()
        try:
            self.client.state()
        except exception.SupervisorUnreachable as err:
            assert "hybridhost up" in str(err)
        else:
            raise AssertionError("state() answered after shutdown")

    def wait_gone(self):
        """Real supervisord needs a moment to close its socket."""

    def wait_running(self, name):
        """Real supervisord needs startsecs before a started program is RUNNING."""
