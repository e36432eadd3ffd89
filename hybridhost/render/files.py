"""Put rendered files on disk (atomically) or compare them with what is there."""

import difflib
import os
import re
import tempfile

from hybridhost.render import ini

# Directories whose *.conf files are all ours; stale ones (ours, by header) are removed.
_OWNED_DIRS = ("conf", "supervisord.d")
_SECRET_LINE = re.compile(
    r"^(\s*(?:\w*password|transport_url|connection|default_pass|\w*secret\w*)\s*=\s*).*$",
    re.MULTILINE)


def _stale(files, out_dir):
    for sub in _OWNED_DIRS:
        directory = os.path.join(out_dir, sub)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            rel = "%s/%s" % (sub, name)
            if rel in files or not name.endswith(".conf"):
                continue
            with open(os.path.join(directory, name)) as handle:
                if handle.read(len(ini.HEADER)) == ini.HEADER:
                    yield rel


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def differences(files, out_dir):
    """``[(relpath, on_disk_or_None, rendered_or_None)]`` for every file that differs."""
    diffs = []
    for rel, text in files.items():
        current = _read(os.path.join(out_dir, rel))
        if current != text:
            diffs.append((rel, current, text))
    diffs.extend((rel, _read(os.path.join(out_dir, rel)), None)
                 for rel in _stale(files, out_dir))
    return diffs


def _mask(text):
    return _SECRET_LINE.sub(r"\1<secret>", text or "")


def unified_diff(diffs):
    chunks = []
    for rel, current, rendered in diffs:
        chunks.extend(difflib.unified_diff(
            _mask(current).splitlines(keepends=True), _mask(rendered).splitlines(keepends=True),
            fromfile="%s (on disk)" % rel if current is not None else "/dev/null",
            tofile="%s (rendered)" % rel if rendered is not None else "/dev/null"))
    return "".join(chunks)


def _atomic_write(path, text, mode):
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write(files, out_dir):
    """Write what differs; returns the relative paths changed (written or removed)."""
    changed = []
    for rel, _current, rendered in differences(files, out_dir):
        path = os.path.join(out_dir, rel)
        if rendered is None:
            os.unlink(path)
        else:
            # conf/ holds passwords and the transport URL: owner-only.
            _atomic_write(path, rendered, 0o600 if rel.startswith("conf/") else 0o644)
        changed.append(rel)
    return changed
