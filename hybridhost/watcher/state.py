"""The watcher's last round as a small JSON file, written atomically, read by status."""

import dataclasses
import json
import os
import tempfile

from hybridhost.watcher import repairs

#: Worst first; 'failed' (given up by the watcher) counts as down for the box.
_RANK = {repairs.HEALTHY: 0, repairs.DEGRADED: 1, repairs.DOWN: 2, repairs.FAILED: 2}
VERSION = 1
#: The kind of the rows of each side's instances and capacity ledger.
LEDGER = "ledger"


@dataclasses.dataclass(frozen=True)
class Part:
    part: str
    kind: str       # "program", "service", "check", "ledger", "supervisord" or "watcher"
    state: str
    health: str
    last_check: float | None    # wall-clock seconds
    detail: str = ""


def overall(parts):
    """The box's health: its worst part's ('failed' is 'down'); the ledger's rows are
    shown but never count."""
    worst = max((_RANK.get(p.health, 2) for p in parts if p.kind != LEDGER), default=2)
    return {0: repairs.HEALTHY, 1: repairs.DEGRADED, 2: repairs.DOWN}[worst]


def write(path, parts, written, interval, pid):
    """Replace ``path`` with the round's parts (rename: a reader never sees half)."""
    data = {"version": VERSION, "written": written, "interval": interval, "pid": pid,
            "parts": [dataclasses.asdict(part) for part in parts]}
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read(path):
    """``(written, interval, {part: Part})``, or None when there is no usable file."""
    try:
        with open(path) as handle:
            data = json.load(handle)
        parts = {item["part"]: Part(**item) for item in data["parts"]}
        return data["written"], data["interval"], parts
    except (OSError, ValueError, KeyError, TypeError):
        return None
