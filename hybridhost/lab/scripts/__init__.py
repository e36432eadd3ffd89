"""The shell scripts the lab's guest and demo container run (busybox ash), as package data.

``guest-init.sh`` (the VM's /init), ``config-drive.sh``, ``udhcpc.sh``, ``probe.sh``
(shared by the VM and the container) and ``container-init.sh``. The unit tests run
shellcheck on each file. What goes into an image is ``load(name, **values)``: the file
without its ``# shellcheck`` directive lines, each placeholder word NAME (a bare word,
so the file stays valid shell) replaced by ``values[NAME]``. Built guests are
fingerprinted by that text, so a directive added for shellcheck rebuilds nothing.
"""

from importlib import resources
import re

DIRECTIVE = re.compile(r"^[ \t]*# shellcheck [^\n]*\n", re.M)


def names():
    """The script files shipped in this package."""
    return sorted(entry.name for entry in resources.files(__name__).iterdir()
                  if entry.name.endswith(".sh"))


def path(name):
    """A context manager giving the script's path on disk (for shellcheck)."""
    return resources.as_file(resources.files(__name__) / name)


def load(name, **values):
    """The script as it goes into an image (see the module's docstring)."""
    text = DIRECTIVE.sub("", (resources.files(__name__) / name).read_text())
    for placeholder, value in values.items():
        text, count = re.subn(r"\b%s\b" % placeholder, str(value), text)
        if not count:
            raise ValueError("%s has no placeholder %s" % (name, placeholder))
    return text
