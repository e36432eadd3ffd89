"""The pure parts of the lab's artifact builders: cpio, module order, busybox, rootfs."""

import gzip
import io
import os
import stat
import struct
import tarfile

import pytest

from hybridhost import exception
from hybridhost.lab import container_image
from hybridhost.lab import dropbear
from hybridhost.lab import guest


def _elf_module(path, modinfo):
    """A minimal ELF64 file whose only real section is .modinfo (as in a .ko)."""
    payload = b"\0".join(e.encode() for e in modinfo) + b"\0"
    shstrtab = b"\0.modinfo\0.shstrtab\0"
    data_off = 64
    strtab_off = data_off + len(payload)
    shoff = strtab_off + len(shstrtab)
    header = bytearray(64)
    header[:5] = b"\x7fELF\x02"
    struct.pack_into("<Q", header, 0x28, shoff)
    struct.pack_into("<HHH", header, 0x3A, 64, 3, 2)

    def section(name, offset, size):
        return struct.pack("<IIQQQQ", name, 1, 0, 0, offset, size) + bytes(24)

    sections = (bytes(64) + section(1, data_off, len(payload))
                + section(10, strtab_off, len(shstrtab)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(header) + payload + shstrtab + sections)


def _parse_cpio(data):
    entries, offset = {}, 0
    while True:
        header = data[offset:offset + 110]
        assert header[:6] == b"070701"
        fields = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[offset + 110:offset + 110 + namesize - 1].decode()
        offset += 110 + namesize
        offset += -offset % 4
        body = data[offset:offset + size]
        offset += size + (-size % 4)
        if name == "TRAILER!!!":
            return entries
        entries[name] = (mode, body, (fields[9], fields[10]))


class TestModules:
    def test_dependencies_first_builtins_skipped(self, tmp_path):
        """virtio_net needs net_failover (needs failover) and virtio; virtio is built in."""
        root = tmp_path / "6.1.0-test"
        kernel = root / "kernel"
        _elf_module(kernel / "drivers/net/virtio_net.ko",
                    ["license=GPL", "depends=net_failover,virtio", "vermagic=6.1"])
        _elf_module(kernel / "drivers/net/net_failover.ko", ["depends=failover"])
        _elf_module(kernel / "net/core/failover.ko", ["depends="])
        (root / "modules.builtin").write_text("kernel/drivers/virtio/virtio.ko\n")
        order = [name for name, _ in guest.module_closure(str(root), ["virtio-net"])]
        assert order == ["failover", "net_failover", "virtio_net"]

    def test_missing_module_is_a_build_failure(self, tmp_path):
        (tmp_path / "kernel").mkdir()
        with pytest.raises(exception.LabBuildFailed, match="kernel module virtio_net"):
            guest.module_closure(str(tmp_path), ["virtio_net"])


class TestInitramfs:
    def test_newc_archive_has_init_links_devices_and_modules(self, tmp_path):
        busybox = tmp_path / "busybox"
        busybox.write_bytes(b"\x7fELF-busybox")
        module = tmp_path / "virtio_net.ko"
        module.write_bytes(b"ko-bytes")
        entries = _parse_cpio(gzip.decompress(
            guest.initramfs(str(busybox), [("virtio_net", str(module))])))
        mode, body, _ = entries["init"]
        assert stat.S_ISREG(mode) and mode & 0o111 and body.startswith(b"#!/bin/sh")
        assert entries["bin/busybox"][1] == b"\x7fELF-busybox"
        mode, target, _ = entries["bin/udhcpc"]
        assert stat.S_ISLNK(mode) and target == b"busybox"
        mode, _, rdev = entries["dev/console"]
        assert stat.S_ISCHR(mode) and rdev == (5, 1)
        assert entries["lib/modules/virtio_net.ko"][1] == b"ko-bytes"
        assert entries["etc/hybridhost/modules"][1] == b"virtio_net\n"
        assert entries["etc/hybridhost-probe"][1] == guest.PROBE_SCRIPT.encode()
        assert b"sh /etc/hybridhost-probe" in entries["init"][1]

    def test_the_ssh_server_payload_root_s_home_and_no_host_key(self, tmp_path):
        busybox = tmp_path / "busybox"
        busybox.write_bytes(b"bb")
        sshd = [dropbear.File(dropbear.PROGRAM, b"dropbear", 0o755),
                dropbear.File("lib/x86_64-linux-gnu/libc.so.6", b"libc", 0o644)]
        entries = _parse_cpio(gzip.decompress(guest.initramfs(str(busybox), [], sshd)))
        assert entries[dropbear.PROGRAM][1] == b"dropbear"
        assert entries[dropbear.PROGRAM][0] & 0o777 == 0o755
        for directory in ("usr", "usr/sbin", "lib/x86_64-linux-gnu"):
            assert stat.S_ISDIR(entries[directory][0])
        for private in ("root", dropbear.HOST_KEY_DIR):
            assert entries[private][0] & 0o777 == 0o700
        assert not [n for n in entries if n.startswith(dropbear.HOST_KEY_DIR + "/")]
        assert entries["etc/passwd"][1] == b"root:x:0:0:root:/root:/bin/sh\n"
        assert entries["etc/hybridhost-ssh-keys"][1] == guest.SSH_KEYS_SCRIPT.encode()
        init = entries["init"][1].decode()
        assert "/usr/sbin/dropbear -F -R -s " in init and "-p 22" in init

    def test_deterministic(self, tmp_path):
        busybox = tmp_path / "busybox"
        busybox.write_bytes(b"x")
        assert guest.initramfs(str(busybox), []) == guest.initramfs(str(busybox), [])


class TestBusybox:
    def test_static_busybox_accepted(self):
        if not os.path.exists(guest.BUSYBOX):
            pytest.skip("no /bin/busybox here")
        assert guest.static_busybox() == guest.BUSYBOX

    def test_dynamic_binary_refused(self):
        with pytest.raises(exception.LabBuildFailed, match="dynamically linked"):
            guest.static_busybox("/bin/ls")

    def test_missing_binary_names_the_package(self, tmp_path):
        with pytest.raises(exception.LabBuildFailed, match="busybox-static"):
            guest.static_busybox(str(tmp_path / "busybox"))


class TestContainerRootfs:
    def test_rootfs_tar(self, tmp_path):
        busybox = tmp_path / "busybox"
        busybox.write_bytes(b"bb")
        with tarfile.open(fileobj=io.BytesIO(
                container_image.rootfs_tar(str(busybox), ("sh", "httpd")))) as archive:
            members = {m.name: m for m in archive.getmembers()}
            assert archive.extractfile("bin/busybox").read() == b"bb"
            assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
            assert members["tmp"].mode == 0o1777
            init = archive.extractfile("etc/hybridhost-init").read().decode()
            probe = archive.extractfile("etc/hybridhost-probe").read().decode()
        assert "HYBRIDHOST-CONTAINER start" in init and "exit 0' TERM INT" in init
        assert "sh /etc/hybridhost-probe" in init and probe == guest.PROBE_SCRIPT
        assert all(m.uid == 0 and m.mtime == 0 for m in members.values())

    def test_rootfs_holds_the_ssh_server_and_no_host_key(self, tmp_path):
        busybox = tmp_path / "busybox"
        busybox.write_bytes(b"bb")
        sshd = [dropbear.File(dropbear.PROGRAM, b"dropbear", 0o755)]
        with tarfile.open(fileobj=io.BytesIO(
                container_image.rootfs_tar(str(busybox), ("sh",), sshd))) as archive:
            members = {m.name: m for m in archive.getmembers()}
            assert archive.extractfile(dropbear.PROGRAM).read() == b"dropbear"
            init = archive.extractfile("etc/hybridhost-init").read().decode()
        assert members[dropbear.PROGRAM].mode == 0o755 and members["usr/sbin"].isdir()
        assert members["root"].mode == 0o700 and members[dropbear.HOST_KEY_DIR].mode == 0o700
        assert not [n for n in members if n.startswith(dropbear.HOST_KEY_DIR + "/")]
        assert "/usr/sbin/dropbear -R -s " in init and "-p 22" in init

    def test_a_new_dropbear_version_is_a_new_tag(self, tmp_path):
        busybox = tmp_path / "busybox"
        busybox.write_bytes(b"bb")
        tag = container_image._tag  # noqa: SLF001
        old = tag(str(busybox), ("sh",), (("dropbear-bin", "2022.83-1"),))
        assert old == tag(str(busybox), ("sh",), (("dropbear-bin", "2022.83-1"),))
        assert old != tag(str(busybox), ("sh",), (("dropbear-bin", "2022.83-2"),))


class TestBuildErrors:
    def test_unwritable_cache_is_a_one_line_build_failure(self, tmp_path, monkeypatch):
        """No traceback when the cache cannot be written: LabBuildFailed naming the path."""
        if not os.path.exists(guest.BUSYBOX):
            pytest.skip("no /bin/busybox here")
        monkeypatch.setattr(guest, "kernel_package", lambda: ("linux-image-x", "1.0"))
        monkeypatch.setattr(dropbear, "versions", lambda: (("dropbear-bin", "1"),))
        blocker = tmp_path / "cache"
        blocker.write_text("a file where the cache directory should be")
        with pytest.raises(exception.LabBuildFailed, match="cache"):
            guest.build(str(blocker))


class TestKernelPackage:
    def _apt(self, monkeypatch, fields_by_package):
        asked = []

        def apt_show(package):
            asked.append(package)
            return fields_by_package[package]

        monkeypatch.setattr(guest, "_apt_show", apt_show)
        return asked

    def test_the_metapackages_pinned_version_needs_one_apt_call(self, monkeypatch):
        asked = self._apt(monkeypatch, {"linux-image-cloud-amd64": {
            "Depends": "linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)"}})
        assert guest.kernel_package() == ("linux-image-6.1.0-56-cloud-amd64", "6.1.192-2")
        assert asked == ["linux-image-cloud-amd64"]

    def test_an_unpinned_dependency_asks_apt_for_its_version(self, monkeypatch):
        asked = self._apt(monkeypatch, {
            "linux-image-cloud-amd64": {
                "Depends": "initramfs-tools, linux-image-6.1.0-9-cloud-amd64"},
            "linux-image-6.1.0-9-cloud-amd64": {"Version": "6.1.27-1"}})
        assert guest.kernel_package() == ("linux-image-6.1.0-9-cloud-amd64", "6.1.27-1")
        assert asked == ["linux-image-cloud-amd64", "linux-image-6.1.0-9-cloud-amd64"]

    def test_no_kernel_dependency_is_a_build_failure(self, monkeypatch):
        self._apt(monkeypatch, {"linux-image-cloud-amd64": {"Depends": "initramfs-tools"}})
        with pytest.raises(exception.LabBuildFailed, match="no linux-image"):
            guest.kernel_package()
