"""The one process runner against real commands: every way a command can end."""

import os

import pytest

from hybridhost import exception
from hybridhost import runner


class TestSuccess:
    def test_returns_standard_output(self):
        assert runner.run(["echo", "hello"]) == "hello\n"

    def test_true_gives_no_output(self):
        assert runner.run(["true"]) == ""

    def test_input_text_is_the_commands_standard_input(self):
        assert runner.run(["cat"], input_text="line 1\nline 2\n") == "line 1\nline 2\n"

    def test_env_replaces_the_environment(self):
        assert runner.run(["/bin/sh", "-c", "echo $HH_RUNNER_TEST:$HOME"],
                          env={"HH_RUNNER_TEST": "set"}) == "set:\n"

    def test_cwd_is_the_working_directory(self, tmp_path):
        assert runner.run(["pwd"], cwd=str(tmp_path)) == "%s\n" % tmp_path


class TestFailure:
    def test_non_zero_exit_is_command_failed_with_code(self):
        with pytest.raises(exception.CommandFailed) as caught:
            runner.run(["false"])
        assert caught.value.kwargs["code"] == 1
        assert caught.value.message == "false failed (exit 1): "

    def test_the_message_keeps_the_last_lines_of_stderr(self):
        script = "seq 1 40 >&2; echo out; exit 3"
        with pytest.raises(exception.CommandFailed) as caught:
            runner.run(["/bin/sh", "-c", script])
        output = caught.value.kwargs["output"].splitlines()
        assert output == [str(n) for n in range(41 - runner.OUTPUT_LINES, 41)]
        assert caught.value.kwargs["code"] == 3

    def test_stdout_is_shown_when_stderr_is_empty(self):
        with pytest.raises(exception.CommandFailed, match=r"exit 2\): only stdout"):
            runner.run(["/bin/sh", "-c", "echo only stdout; exit 2"])

    def test_secrets_are_masked_in_the_command_and_its_output(self):
        with pytest.raises(exception.CommandFailed) as caught:
            runner.run(["/bin/sh", "-c", "echo bad password s3cret >&2; exit 1", "s3cret"],
                       secrets=["s3cret", ""])
        assert "s3cret" not in caught.value.message
        assert caught.value.kwargs["output"] == "bad password ***"
        assert caught.value.kwargs["command"].endswith(" ***")

    def test_timeout_names_the_command_and_seconds(self):
        with pytest.raises(exception.CommandTimedOut) as caught:
            runner.run(["sleep", "5"], timeout=0.2)
        assert caught.value.message == "sleep 5 did not finish within 0.2s"

    def test_missing_binary_says_how_to_install(self):
        with pytest.raises(exception.CommandNotFound) as caught:
            runner.run(["hybridhost-no-such-binary", "--version"])
        assert caught.value.message == ("hybridhost-no-such-binary is not installed "
                                        "(No such file or directory); run tools/install.sh")
        assert isinstance(caught.value.__cause__, FileNotFoundError)

    def test_a_file_that_is_not_executable_is_not_found_either(self, tmp_path):
        script = tmp_path / "tool"
        script.write_text("#!/bin/sh\n")
        os.chmod(script, 0o644)
        with pytest.raises(exception.CommandNotFound, match="Permission denied"):
            runner.run([str(script)])

    def test_a_missing_working_directory_is_not_a_missing_command(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            runner.run(["true"], cwd=str(tmp_path / "gone"))


class TestSecretEnvironment:
    def test_secret_env_is_added_to_the_inherited_environment(self):
        out = runner.run(["/bin/sh", "-c", "echo $HH_SECRET:${PATH:+path}"],
                         secret_env={"HH_SECRET": "s3cret"})
        assert out == "s3cret:path\n"

    def test_secret_env_is_added_to_a_given_environment(self):
        out = runner.run(["/bin/sh", "-c", "echo $HH_SECRET:$HH_OTHER"],
                         env={"HH_OTHER": "o"}, secret_env={"HH_SECRET": "s"})
        assert out == "s:o\n"

    def test_secret_env_values_are_masked_in_errors(self):
        with pytest.raises(exception.CommandFailed) as caught:
            runner.run(["/bin/sh", "-c", "echo $HH_SECRET >&2; exit 1"],
                       secret_env={"HH_SECRET": "s3cret"})
        assert "s3cret" not in caught.value.message
        assert runner.MASK in caught.value.message
