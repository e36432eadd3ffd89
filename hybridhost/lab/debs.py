"""Debian packages for the lab's artifacts: which version apt would fetch, and the fetch.

Packages are downloaded with ``apt-get download`` into a cache directory (nothing is
installed on the host) and unpacked by the builders with ``dpkg-deb -x``.
"""

import functools
import logging
import os
import tempfile

from hybridhost import exception
from hybridhost import runner

LOG = logging.getLogger(__name__)


@functools.lru_cache(maxsize=None)
def versions(packages, artifact):
    """((package, version), ...) as apt would download them now: one apt-cache call,
    once per process (after an ``apt-get update`` when apt does not know them all)."""
    try:
        found = _apt_versions(packages)
    except exception.CommandFailed:
        found = {}
    if set(found) != set(packages):
        LOG.info("apt does not know all of %s yet; running apt-get update", ", ".join(packages))
        runner.run(["apt-get", "update", "-qq"])
        found = _apt_versions(packages)
    missing = sorted(set(packages) - set(found))
    if missing:
        raise exception.LabBuildFailed(artifact=artifact, reason="apt-cache has no %s"
                                       % ", ".join(missing))
    return tuple((name, found[name]) for name in packages)


def _apt_versions(packages):
    text = runner.run(["apt-cache", "show", "--no-all-versions", *packages])
    found = {}
    for paragraph in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in paragraph.splitlines()
                      if ": " in line and not line.startswith(" "))
        if "Package" in fields and "Version" in fields:
            found.setdefault(fields["Package"], fields["Version"])
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
