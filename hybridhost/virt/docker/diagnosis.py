"""Why a container cannot run, or why it stopped: said, not left to guess.

* An image with neither CMD nor ENTRYPOINT (and no ``os_command_line`` image
  property) cannot be started by Docker ("no command specified"); spawn refuses it
  before anything is created, so nova aborts the build with that reason instead of
  retrying it on other hosts.
* A container whose processes the kernel's OOM killer ended (Docker's
  ``State.OOMKilled``) is logged as a warning when it stops, and its console log
  ends with a line saying so.
"""

import logging

from hybridhost import exception

LOG = logging.getLogger(__name__)


def require_command(image_id, image_config, command):
    """Refuse an image Docker would have nothing to run in."""
    if command:
        return
    config = image_config or {}
    if config.get("Cmd") or config.get("Entrypoint"):
        return
    raise exception.ImageHasNoCommand(image_id=image_id)


def oom_note(info, memory_mb=None):
    """The console line saying the container was OOM-killed, or None."""
    if info is None or not info.oom_killed:
        return None
    limit = " (its memory limit is the flavor's %s MiB)" % memory_mb if memory_mb else ""
    return ("[hybridhost] The container of instance %s was OOM-killed: the kernel's OOM "
            "killer ended it%s; it stopped at %s with exit code %s.\n"
            % (info.uuid, limit, info.finished_at or "?", info.exit_code))


def console_with_note(output, info, memory_mb=None):
    """``output`` (bytes) followed by the OOM line when there is one."""
    note = oom_note(info, memory_mb)
    if note is None:
        return output
    if output and not output.endswith(b"\n"):
        output += b"\n"
    return output + note.encode()


def report_stop(info):
    """Log why the container of a stopped instance stopped, when Docker knows."""
    if info is not None and info.oom_killed:
        LOG.warning("Instance %(uuid)s was OOM-killed (exit code %(code)s): its processes "
                    "used more memory than its flavor allows",
                    {"uuid": info.uuid, "code": info.exit_code})
