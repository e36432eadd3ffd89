"""Run a command to completion: the one adapter between hybridhost and subprocess.

A command that is not there, one that runs past its timeout and one that exits non-zero
each become one HybridhostError here (``CommandNotFound``, ``CommandTimedOut``,
``CommandFailed``), naming the command with any secret it was given masked.
"""

import logging
import os
import subprocess

from hybridhost import exception

LOG = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600
#: Lines of the command's output (stderr, else stdout) an error message keeps.
OUTPUT_LINES = 15
MASK = "***"


def run(argv, timeout=DEFAULT_TIMEOUT, input_text=None, env=None, cwd=None, secrets=(),
        secret_env=None):
    """Run ``argv`` (a list of strings) and return its standard output as text.

    ``input_text`` is written to its standard input; ``env`` replaces the environment
    and ``cwd`` the working directory when given. Each string in ``secrets`` is shown
    as ``***`` wherever the command or its output appears in a log line or an error.
    ``secret_env`` adds variables to the environment (``env``, else this process's)
    whose values are secrets: a password passed this way is not on the command line,
    which every user of the box can read (``ps``), and is masked like ``secrets``.
    """
    if secret_env:
        env = dict(os.environ if env is None else env, **secret_env)
        secrets = list(secrets) + list(secret_env.values())
    shown = _masked(" ".join(argv), secrets)
    LOG.debug("Running %s", shown)
    try:
        proc = subprocess.run(argv, input=input_text, env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise exception.CommandTimedOut(command=shown, seconds=timeout) from err
    except (FileNotFoundError, PermissionError) as err:
        if cwd is not None and err.filename == cwd:
            raise
        raise exception.CommandNotFound(command=argv[0], reason=err.strerror) from err
    if proc.returncode != 0:
        output = (proc.stderr or proc.stdout).strip().splitlines()[-OUTPUT_LINES:]
        raise exception.CommandFailed(command=shown, code=proc.returncode,
                                      output=_masked("\n".join(output), secrets))
    return proc.stdout


def _masked(text, secrets):
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
