"""Debian packages for the lab's artifacts: which version apt would fetch, and the fetch.

Packages are downloaded with ``apt-get download`` into a cache directory (nothing is
installed on the host) and unpacked by the builders with ``dpkg-deb -x``.
"""

import logging
import os
import tempfile

from hybridhost import exception
from hybridhost import runner

LOG = logging.getLogger(__name__)


#: apt-cache's fields of each package asked for so far in this process.
_FIELDS = {}
#: Packages the builders will ask for (each names its own at import, with expect()).
_EXPECTED = set()


def expect(*packages):
    """Say that ``packages`` will be asked for: the next apt-cache call asks for them too."""
    _EXPECTED.update(packages)


def show(packages):
    """{package: its fields} for each of ``packages`` apt knows (its candidate version).

    One apt-cache call for those not known yet in this process, together with every
    expected one not known yet: each call costs about 1 s, mostly apt's own start, and
    a 'lab up' needs the guest's kernel and the ssh server's packages.
    """
    if any(name not in _FIELDS for name in packages):
        _FIELDS.update(_apt_fields(sorted((set(packages) | _EXPECTED) - set(_FIELDS))))
    return {name: _FIELDS[name] for name in packages if name in _FIELDS}


def forget():
    """Drop what :func:`show` keeps (apt's lists changed, or a test starts)."""
    _FIELDS.clear()


def versions(packages, artifact):
    """((package, version), ...) as apt would download them now (after an ``apt-get
    update`` when apt does not know them all)."""
    found = show(packages)
    if set(found) != set(packages):
        LOG.info("apt does not know all of %s yet; running apt-get update", ", ".join(packages))
        runner.run(["apt-get", "update", "-qq"])
        forget()
        found = show(packages)
    missing = sorted(set(packages) - set(found))
    if missing:
        raise exception.LabBuildFailed(artifact=artifact, reason="apt-cache has no %s"
                                       % ", ".join(missing))
    return tuple((name, found[name]["Version"]) for name in packages)


def _apt_fields(packages):
    try:
        text = runner.run(["apt-cache", "show", "--no-all-versions", *packages])
    except exception.CommandFailed:  # none of them known
        return {}
    found = {}
    for paragraph in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in paragraph.splitlines()
                      if ": " in line and not line.startswith(" "))
        if "Package" in fields and "Version" in fields:
            found.setdefault(fields["Package"], fields)
    return found


def fetch_deb(package, version, debs_dir):
    """``apt-get download`` one package version into ``debs_dir`` (kept as a cache)."""
    target = os.path.join(debs_dir, "%s_%s.deb" % (package, version.replace(":", "%3a")))
    if os.path.exists(target):
        LOG.info("Using cached %s", target)
        return target
    os.makedirs(debs_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=debs_dir) as work:
        LOG.info("Downloading %s %s with apt-get", package, version)
        runner.run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root",
                    "%s=%s" % (package, version)], cwd=work)
        found = [n for n in os.listdir(work) if n.endswith(".deb")]
        if len(found) != 1:
            raise exception.LabBuildFailed(artifact=package, reason="apt-get download "
                                           "%s gave %s" % (package, found))
        os.rename(os.path.join(work, found[0]), target)
    return target
