"""The lab's small VM guest: a Debian cloud kernel and a busybox initramfs.

Built from Debian packages only: the kernel package behind ``linux-image-cloud-amd64``
is fetched with ``apt-get download`` into the cache and unpacked with ``dpkg-deb -x``
(nothing is installed on the host); busybox comes from the host's ``busybox-static``.
The cloud kernel has virtio as modules, so the ones the guest needs (and what they
depend on, read from each module's ``.modinfo``) are copied into the initramfs.

The guest's ``/init`` prints parseable lines on the serial console (``console=ttyS0``,
so ``openstack console log show`` has them)::

    HYBRIDHOST-GUEST init kernel=<release> uptime=<s>
    HYBRIDHOST-GUEST ip=<addr> prefix=<bits> router=<gw> source=config-drive|dhcp uptime=<s>
    HYBRIDHOST-GUEST ready ip=<addr> keys=<n> uptime=<s>
    HYBRIDHOST-PING <addr> ok                                           (once per address)
    HYBRIDHOST-HTTP <addr> ok            (once per address that serves HTTP on port 80)

eth0's address comes from the config drive nova attaches (openstack/latest/
network_data.json, static when the subnet has DHCP off: see CONFIG_DRIVE_SCRIPT), or,
when there is none within CONFIG_DRIVE_WAIT_S or it says DHCP, from busybox udhcpc
(neutron's DHCP agent). Then it probes each
address of its /24 (neutron picks addresses at random), every 2 s for the first ~45 s
and every 60 s after that, plus any in ``hybridhost.ping=A,B`` on the kernel command
line, with ``ping`` and then
``wget http://<addr>/``, and reports each one that answers (see PROBE_SCRIPT), so the
console log shows the VM reached a container on the same network.
The kernel answers ICMP; busybox httpd serves a one-line page on port 80 so that a
container without NET_RAW can prove the other direction over TCP (see
``container_image``).

dropbear (see :mod:`.dropbear`) listens on port 22 for key logins as root: the keys
are the config drive's ``public_keys`` (openstack/latest/meta_data.json, read by
SSH_KEYS_SCRIPT into /root/.ssh/authorized_keys; ``keys=<n>`` on the ready line counts
them). Password logins are off; the host keys are made at their first use.
"""

import dataclasses
import gzip
import hashlib
import io
import logging
import os
import re
import shutil
import stat
import struct
import tempfile

from hybridhost import exception
from hybridhost import runner
from hybridhost.lab import debs
from hybridhost.lab import dropbear
from hybridhost.lab import scripts

LOG = logging.getLogger(__name__)

KERNEL_METAPACKAGE = "linux-image-cloud-amd64"
debs.expect(KERNEL_METAPACKAGE)
BUSYBOX = "/bin/busybox"
#: What the guest needs; their dependencies are added. Built-in ones are skipped.
#: ata_piix, sr_mod and isofs read the config drive (an IDE CD-ROM on nova's "pc" machine).
MODULES = ("virtio_pci", "virtio_net", "virtio_blk", "ata_piix", "sr_mod", "isofs")
CMDLINE = "console=ttyS0 panic=-1 quiet"
#: Bump when the recipe below changes, so cached guests are rebuilt.
RECIPE_VERSION = 3
BANNER = "HYBRIDHOST-GUEST"
#: Probes at once; neutron hands out addresses at random, so the whole /24 is probed.
PROBE_BATCH = 64
#: Fast rounds (2 s apart) first, then one round every SLOW_ROUND_S. Measured on a TCG
#: guest: ~0.5 core while probing 253 addresses every 2 s, ~4 CPU-seconds per round; 15
#: fast rounds kept each VM at a third of a core for over 4 minutes after its boot.
FAST_ROUNDS, SLOW_ROUND_S = 4, 60

#: The reachability probe shared by the VM guest and the demo container (busybox ash),
#: installed as /etc/hybridhost-probe and started as ``hybridhost-probe ADDR [EXTRA..]``.
#: Each round pings every address of ADDR's /24 not yet seen (PROBE_BATCH at a time,
#: one process each), then tries ``wget http://<addr>/`` on those that answered, or on
#: every address where ping is not allowed (a container without NET_RAW). Each answer
#: is printed once. It must not run as PID 1: ``timeout`` leaves its watcher processes
#: to PID 1, and busybox ash's ``wait`` can miss a job's exit when PID 1 also reaps
#: such orphans (one SIGCHLD for two children) and hang; PID 1 only reaps.
PROBE_SCRIPT = scripts.load("probe.sh", PROBE_BATCH=PROBE_BATCH, FAST_ROUNDS=FAST_ROUNDS,
                            SLOW_ROUND_S=SLOW_ROUND_S)

APPLETS = ("sh", "mount", "umount", "mkdir", "cat", "echo", "insmod", "ip", "udhcpc",
           "ping", "sleep", "usleep", "uname", "cut", "tr", "touch", "httpd", "hostname",
           "ls", "ps", "dmesg", "ifconfig", "route", "rm", "sed", "grep", "wget", "nc",
           "timeout", "head", "ipcalc", "awk", "mv", "true", "id")

#: Seconds the guest waits for a config drive before it falls back to DHCP.
CONFIG_DRIVE_WAIT_S = 3

#: Reads eth0's static address from an OpenStack config drive (ISO 9660, label
#: config-2): openstack/latest/network_data.json, as nova writes it when the subnet has
#: DHCP off ({"networks": [{"type": "ipv4", "ip_address": ..., "netmask": ...,
#: "routes": [{"network": "0.0.0.0", "gateway": ...}]}], "links": [{"mtu": ...}]}).
#: Exit 1 (the caller then runs DHCP) when there is no drive or no static ipv4 network.
CONFIG_DRIVE_SCRIPT = scripts.load("config-drive.sh", WAIT_TENTHS=CONFIG_DRIVE_WAIT_S * 10)

#: busybox udhcpc's event script: configures eth0 from neutron's DHCP lease.
UDHCPC_SCRIPT = scripts.load("udhcpc.sh")

#: Writes the config drive's ``public_keys`` (meta_data.json) into root's authorized_keys.
SSH_KEYS_SCRIPT = scripts.load("ssh-keys.sh")

#: The guest's /init (PID 1): modules, eth0's address, httpd, keys and dropbear, then
#: the probe.
INIT_SCRIPT = scripts.load("guest-init.sh")


@dataclasses.dataclass(frozen=True)
class GuestArtifacts:
    kernel_path: str
    initramfs_path: str
    cmdline: str

    @property
    def build_id(self):
        """Names this build (kernel version + recipe digest): the cache directory's name."""
        return os.path.basename(os.path.dirname(self.kernel_path))


def build(cache_dir):
    """Build (or reuse from ``cache_dir``) the lab guest; returns its GuestArtifacts."""
    busybox = static_busybox()
    package, version = kernel_package()
    sshd = dropbear.versions()
    out_dir = os.path.join(cache_dir, "guest", _cache_key(package, version, busybox, sshd))
    artifacts = _artifacts(out_dir)
    if _complete(artifacts):
        LOG.info("Reusing the lab guest in %s (kernel %s %s)", out_dir, package, version)
        return artifacts
    try:
        deb = debs.fetch_deb(package, version, os.path.join(cache_dir, "debs"))
        _build_and_publish(deb, busybox, dropbear.payload(cache_dir, sshd), out_dir)
    except OSError as err:
        raise exception.LabBuildFailed(artifact="guest", reason="%s: %s" % (
            err.filename or cache_dir, err.strerror or err)) from err
    LOG.info("Built the lab guest in %s (kernel %s %s)", out_dir, package, version)
    return artifacts


def _complete(artifacts):
    return os.path.exists(artifacts.kernel_path) and os.path.exists(artifacts.initramfs_path)


def _build_and_publish(deb, busybox, sshd_files, out_dir):
    """Build in a temporary directory beside ``out_dir``, then rename it into place."""
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(out_dir)) as work:
        _build_into(deb, busybox, sshd_files, work)
        try:
            os.rename(os.path.join(work, "out"), out_dir)
        except OSError:
            if not _complete(_artifacts(out_dir)):
                raise
            LOG.info("Another build finished %s first; using it", out_dir)


def _artifacts(out_dir):
    return GuestArtifacts(kernel_path=os.path.join(out_dir, "vmlinuz"),
                          initramfs_path=os.path.join(out_dir, "initramfs.gz"),
                          cmdline=CMDLINE)


def _cache_key(package, version, busybox, sshd):
    digest = hashlib.sha256()
    for part in (str(RECIPE_VERSION), package, version, file_sha256(busybox), INIT_SCRIPT,
                 PROBE_SCRIPT, UDHCPC_SCRIPT, CONFIG_DRIVE_SCRIPT, SSH_KEYS_SCRIPT,
                 ",".join(MODULES), ",".join(APPLETS), dropbear.fingerprint(sshd)):
        digest.update(part.encode() + b"\0")
    return "%s-%s" % (version, digest.hexdigest()[:12])


def file_sha256(path):
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _build_into(deb, busybox, sshd_files, work):
    tree = os.path.join(work, "deb")
    LOG.info("Unpacking %s", os.path.basename(deb))
    runner.run(["dpkg-deb", "-x", deb, tree])
    kernel = _find_one(os.path.join(tree, "boot"), "vmlinuz-")
    modules_root = _find_one(os.path.join(tree, "lib", "modules"), "")
    modules = module_closure(modules_root, MODULES)
    LOG.info("Guest kernel modules, in load order: %s", " ".join(n for n, _ in modules))
    out = os.path.join(work, "out")
    os.mkdir(out)
    shutil.copyfile(kernel, os.path.join(out, "vmlinuz"))
    with open(os.path.join(out, "initramfs.gz"), "wb") as handle:
        handle.write(initramfs(busybox, modules, sshd_files))


def _find_one(directory, prefix):
    names = sorted(n for n in os.listdir(directory) if n.startswith(prefix))
    if len(names) != 1:
        raise exception.LabBuildFailed(
            artifact="guest", reason="expected one %s* in %s, found %s" % (
                prefix, directory, names or "none"))
    return os.path.join(directory, names[0])


# --- Debian packages -----------------------------------------------------------------


def static_busybox(path=BUSYBOX):
    """The host's static busybox (Debian busybox-static), checked to be static."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(64)
            program_headers = _program_header_types(handle, header)
    except OSError as err:
        raise exception.LabBuildFailed(
            artifact="busybox", reason="%s: %s; install busybox-static (apt-get install "
            "busybox-static)" % (path, err.strerror)) from err
    if 3 in program_headers:  # PT_INTERP: dynamically linked
        raise exception.LabBuildFailed(
            artifact="busybox", reason="%s is dynamically linked; install busybox-static "
            "(apt-get install busybox-static)" % path)
    return path


def _program_header_types(handle, header):
    if header[:4] != b"\x7fELF" or header[4] != 2:
        return {3}  # not a 64-bit ELF: treat as unusable
    phoff, = struct.unpack_from("<Q", header, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
    handle.seek(phoff)
    table = handle.read(phentsize * phnum)
    return {struct.unpack_from("<I", table, i * phentsize)[0] for i in range(phnum)}


def kernel_package(metapackage=KERNEL_METAPACKAGE):
    """(package, version) of the kernel the metapackage points at, from apt's lists."""
    try:
        fields = _apt_show(metapackage)
    except (exception.CommandFailed, exception.LabBuildFailed):
        LOG.info("apt does not know %s yet; running apt-get update", metapackage)
        runner.run(["apt-get", "update", "-qq"])
        fields = _apt_show(metapackage)
    images = [re.match(r"(\S+)(?:\s*\(=\s*([^)\s]+)\))?", d.strip()).groups()
              for d in fields.get("Depends", "").split(",")
              if d.strip().startswith("linux-image-")]
    if not images:
        raise exception.LabBuildFailed(artifact="guest", reason="%s depends on no "
                                       "linux-image package" % metapackage)
    package, version = images[0]
    # Debian's metapackage pins the exact version ("(= 6.1.192-2)"): no second apt-cache
    # call on every 'lab up'.
    return package, version or _apt_show(package)["Version"]


def _apt_show(package):
    fields = debs.show((package,)).get(package) or {}
    if "Version" not in fields:
        raise exception.LabBuildFailed(artifact="guest", reason="apt-cache has no %s"
                                       % package)
    return fields


# --- Kernel modules --------------------------------------------------------------------


def module_closure(modules_root, wanted):
    """[(name, path)] of ``wanted`` modules and their dependencies, dependencies first.

    Modules built into the kernel (``modules.builtin``) need no loading and are left out.
    """
    builtin = _builtin_modules(modules_root)
    available = _module_files(modules_root)
    ordered, seen = [], set()

    def visit(name):
        if name in seen or name in builtin:
            return
        seen.add(name)
        if name not in available:
            raise exception.LabBuildFailed(artifact="guest", reason="kernel module %s "
                                           "is not in %s" % (name, modules_root))
        for dep in module_depends(available[name]):
            visit(dep)
        ordered.append((name, available[name]))

    for name in wanted:
        visit(_norm(name))
    return ordered


def _norm(name):
    return name.replace("-", "_")


def _builtin_modules(modules_root):
    path = os.path.join(modules_root, "modules.builtin")
    if not os.path.exists(path):
        return set()
    with open(path) as handle:
        return {_norm(os.path.basename(line.strip())[:-3]) for line in handle if line.strip()}


def _module_files(modules_root):
    found = {}
    for directory, _, names in os.walk(os.path.join(modules_root, "kernel")):
        for name in names:
            if name.endswith(".ko"):
                found[_norm(name[:-3])] = os.path.join(directory, name)
    return found


def module_depends(path):
    """Module names in the ``depends=`` field of a module's ELF ``.modinfo`` section."""
    for entry in _modinfo(path):
        if entry.startswith(b"depends="):
            value = entry[len(b"depends="):].decode()
            return [_norm(n) for n in value.split(",") if n]
    return []


def _modinfo(path):
    with open(path, "rb") as handle:
        data = handle.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(index):
        name, _, _, _, offset, size = struct.unpack_from(
            "<IIQQQQ", data, shoff + index * shentsize)
        return name, offset, size

    _, names_offset, _ = section(shstrndx)
    for index in range(shnum):
        name, offset, size = section(index)
        end = data.index(b"\0", names_offset + name)
        if data[names_offset + name:end] == b".modinfo":
            return [e for e in data[offset:offset + size].split(b"\0") if e]
    return []


# --- The initramfs (cpio "newc", gzip) -------------------------------------------------


def initramfs(busybox, modules, sshd_files=()):
    """The gzip'd newc cpio archive: busybox, applet links, /init, the modules and
    ``sshd_files`` (:func:`dropbear.payload`'s)."""
    archive = _Cpio()
    directories = {"bin", "dev", "etc", "etc/hybridhost", "lib", "lib/modules", "proc",
                   "run", "sys", "tmp"}
    for directory in sorted(directories.union(dropbear.directories(sshd_files))):
        archive.directory(directory)
    for private in ("root", dropbear.HOST_KEY_DIR):
        archive.directory(private, 0o700)
    for entry in sshd_files:
        archive.file(entry.path, entry.data, entry.mode)
    archive.device("dev/console", stat.S_IFCHR | 0o600, 5, 1)
    archive.device("dev/null", stat.S_IFCHR | 0o666, 1, 3)
    with open(busybox, "rb") as handle:
        archive.file("bin/busybox", handle.read(), 0o755)
    for applet in APPLETS:
        archive.symlink("bin/%s" % applet, "busybox")
    archive.file("init", INIT_SCRIPT.encode(), 0o755)
    archive.file("etc/hybridhost-probe", PROBE_SCRIPT.encode(), 0o755)
    archive.file("etc/udhcpc.script", UDHCPC_SCRIPT.encode(), 0o755)
    archive.file("etc/hybridhost-config-drive", CONFIG_DRIVE_SCRIPT.encode(), 0o755)
    archive.file("etc/hybridhost-ssh-keys", SSH_KEYS_SCRIPT.encode(), 0o755)
    archive.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
    archive.file("etc/hybridhost/modules",
                 "".join("%s\n" % name for name, _ in modules).encode(), 0o644)
    for name, path in modules:
        with open(path, "rb") as handle:
            archive.file("lib/modules/%s.ko" % name, handle.read(), 0o644)
    return gzip.compress(archive.finish(), compresslevel=6, mtime=0)


class _Cpio:
    """A deterministic newc writer (mtime 0, root-owned)."""

    def __init__(self):
        self._out = io.BytesIO()
        self._ino = 0

    def directory(self, name, mode=0o755):
        self._entry(name, stat.S_IFDIR | mode, b"")

    def file(self, name, data, mode):
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def device(self, name, mode, major, minor):
        self._entry(name, mode, b"", rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0, b"", ino=0)
        return self._out.getvalue()

    def _entry(self, name, mode, data, rdev=(0, 0), ino=None):
        self._ino += 1
        encoded = name.encode() + b"\0"
        fields = (self._ino if ino is None else ino, mode, 0, 0,
                  2 if stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(encoded), 0)
        self._out.write(b"070701" + b"".join(b"%08x" % f for f in fields))
        self._out.write(encoded)
        self._pad()
        self._out.write(data)
        self._pad()

    def _pad(self):
        self._out.write(b"\0" * (-self._out.tell() % 4))
