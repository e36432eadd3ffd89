"""One contract for the supervisord seam, run against the fake and the real supervisord.

Subclasses provide ``client`` (with exactly one program, ``demo:sleeper``, RUNNING).
"""

from hybridhost import exception


class SupervisorClientContract:
    client = None

    def test_state_is_running(self):
        assert self.client.state() == "RUNNING"

    def test_programs_report_group_name_state_and_pid(self):
        (program,) = self.client.programs()
        assert program.full_name == "demo:sleeper"
        assert program.state == "RUNNING" and program.running
        assert program.pid > 0
        assert "pid %d" % program.pid in program.description

    def test_stop_all_then_start_all(self):
        self.client.stop_all()
        (program,) = self.client.programs()
        assert program.state == "STOPPED" and not program.running and program.pid == 0
        self.client.start_all()
        (program,) = self.client.programs()
        # start_all does not wait for startsecs: STARTING first, then RUNNING.
        assert program.state in ("STARTING", "RUNNING")

    def test_stop_and_start_one_program(self):
        self.client.stop("demo:sleeper")
        assert self.client.programs()[0].state == "STOPPED"
        self.client.start("demo:sleeper")
        assert self.client.programs()[0].state in ("STARTING", "RUNNING")

    def test_unknown_program_is_a_fault(self):
        try:
            self.client.stop("demo:nope")
        except exception.SupervisorFault as err:
            assert "BAD_NAME" in str(err)
        else:
            raise AssertionError("stopping an unknown program succeeded")

    def test_stop_group(self):
        self.client.stop_group("demo")
        assert self.client.programs()[0].state == "STOPPED"

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
