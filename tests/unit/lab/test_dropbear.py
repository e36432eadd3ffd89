"""The ssh server payload of the demo images: ELF reading, library closure, apt versions."""

import os
import struct

import pytest

from hybridhost import exception
from hybridhost import runner
from hybridhost.lab import debs
from hybridhost.lab import dropbear
from hybridhost.lab import guest
from hybridhost.virt.docker import limits

BASE = 0x400000


def elf(needed, interpreter=None):
    """A minimal 64-bit ELF: one PT_LOAD over the file, PT_DYNAMIC, maybe PT_INTERP."""
    names = b"\0"
    offsets = []
    for name in needed:
        offsets.append(len(names))
        names += name.encode() + b"\0"
    interp = interpreter.encode() + b"\0" if interpreter else b""
    phnum = 3 if interpreter else 2
    interp_off = 64 + 56 * phnum
    strtab_off = interp_off + len(interp)
    dynamic_off = strtab_off + len(names)
    dynamic = b"".join(struct.pack("<qQ", dropbear.DT_NEEDED, o) for o in offsets)
    dynamic += struct.pack("<qQ", dropbear.DT_STRTAB, BASE + strtab_off) + bytes(16)
    total = dynamic_off + len(dynamic)

    def segment(kind, offset, size, vaddr=0):
        return struct.pack("<IIQQQQQQ", kind, 4, offset, vaddr, vaddr, size, size, 8)

    header = bytearray(64)
    header[:7] = b"\x7fELF\x02\x01\x01"
    struct.pack_into("<Q", header, 0x20, 64)
    struct.pack_into("<HH", header, 0x36, 56, phnum)
    phdrs = segment(dropbear.PT_LOAD, 0, total, BASE) + segment(
        dropbear.PT_DYNAMIC, dynamic_off, len(dynamic), BASE + dynamic_off)
    if interpreter:
        phdrs += segment(dropbear.PT_INTERP, interp_off, len(interp))
    return bytes(header) + phdrs + interp + names + dynamic


def put(tree, path, data=None, link=None):
    full = tree / path
    full.parent.mkdir(parents=True, exist_ok=True)
    if link:
        os.symlink(link, full)
    else:
        full.write_bytes(data)


def debian_tree(tmp_path):
    """dropbear needing libtomcrypt (-> libgmp, libc) and libc (-> the loader), laid out
    as Debian 12's packages are: symlinks by soname, the loader linked from /lib64."""
    loader = "/lib64/ld-linux-x86-64.so.2"
    put(tmp_path, dropbear.PROGRAM, elf(["libtomcrypt.so.1", "libc.so.6"], loader))
    put(tmp_path, "usr/lib/x86_64-linux-gnu/libtomcrypt.so.1.0.1",
        elf(["libgmp.so.10", "libc.so.6"]))
    put(tmp_path, "usr/lib/x86_64-linux-gnu/libtomcrypt.so.1", link="libtomcrypt.so.1.0.1")
    put(tmp_path, "usr/lib/x86_64-linux-gnu/libgmp.so.10", elf(["libc.so.6"]))
    put(tmp_path, "lib/x86_64-linux-gnu/libc.so.6", elf(["ld-linux-x86-64.so.2"]))
    put(tmp_path, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", elf([]))
    put(tmp_path, "lib64/ld-linux-x86-64.so.2",
        link="/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    return tmp_path


class TestElf:
    def test_interpreter_and_needed_in_order(self):
        data = elf(["libz.so.1", "libc.so.6"], "/lib64/ld-linux-x86-64.so.2")
        assert dropbear.elf_dynamic(data) == ("/lib64/ld-linux-x86-64.so.2",
                                              ["libz.so.1", "libc.so.6"])

    def test_a_library_has_no_interpreter(self):
        assert dropbear.elf_dynamic(elf(["libc.so.6"])) == (None, ["libc.so.6"])

    def test_not_elf_is_a_build_failure(self):
        with pytest.raises(exception.LabBuildFailed, match="not a 64-bit"):
            dropbear.elf_dynamic(b"#!/bin/sh\n")

    def test_the_hosts_own_binaries_parse(self):
        """A real Debian binary (not only the synthetic ones): ls needs libc."""
        with open("/bin/ls", "rb") as handle:
            interpreter, needed = dropbear.elf_dynamic(handle.read())
        assert interpreter == "/lib64/ld-linux-x86-64.so.2" and "libc.so.6" in needed


class TestCollect:
    def test_program_loader_and_each_library_once_by_soname(self, tmp_path):
        files = {f.path: f for f in dropbear.collect(str(debian_tree(tmp_path)))}
        assert sorted(files) == [
            "lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libgmp.so.10",
            "lib/x86_64-linux-gnu/libtomcrypt.so.1", "lib64/ld-linux-x86-64.so.2",
            dropbear.PROGRAM]
        assert files[dropbear.PROGRAM].mode == 0o755
        assert files["lib64/ld-linux-x86-64.so.2"].mode == 0o755
        assert files["lib/x86_64-linux-gnu/libtomcrypt.so.1"].data == (
            tmp_path / "usr/lib/x86_64-linux-gnu/libtomcrypt.so.1.0.1").read_bytes()
        assert dropbear.directories(files.values()) == [
            "lib", "lib/x86_64-linux-gnu", "lib64", "usr", "usr/sbin"]

    def test_a_missing_library_names_it(self, tmp_path):
        tree = debian_tree(tmp_path)
        os.unlink(tree / "usr/lib/x86_64-linux-gnu/libgmp.so.10")
        with pytest.raises(exception.LabBuildFailed, match="libgmp.so.10"):
            dropbear.collect(str(tree))

    def test_a_symlink_loop_is_a_build_failure(self, tmp_path):
        tree = debian_tree(tmp_path)
        os.unlink(tree / "lib/x86_64-linux-gnu/libc.so.6")
        put(tree, "lib/x86_64-linux-gnu/libc.so.6", link="libc.so.6")
        with pytest.raises(exception.LabBuildFailed, match="too many symbolic links"):
            dropbear.collect(str(tree))


APT_SHOW = """Package: dropbear-bin
Version: 2022.83-1+deb12u3
Depends: libc6 (>= 2.34), zlib1g (>= 1:1.1.4)
Description: lightweight SSH2 server
 Version: not a field

Package: zlib1g
Version: 1:1.2.13.dfsg-1
"""


def fake_apt(calls):
    """runner.run as apt-cache answers: a paragraph for each package asked that it knows."""
    def run(argv, **_):
        calls.append(argv)
        if argv[:2] != ["apt-cache", "show"]:
            return ""
        return "\n".join(p + "\n" for p in APT_SHOW.split("\n\n")
                         if p.split("\n", 1)[0].split(": ")[1] in argv[3:])
    return run


class TestVersions:
    @pytest.fixture(autouse=True)
    def fresh(self, monkeypatch):
        monkeypatch.setattr(debs, "_EXPECTED", set())
        debs.forget()
        yield
        debs.forget()

    def test_one_apt_call_for_all_packages_in_their_order(self, monkeypatch):
        calls = []
        monkeypatch.setattr(runner, "run", fake_apt(calls))
        assert debs.versions(("zlib1g", "dropbear-bin"), "x") == (
            ("zlib1g", "1:1.2.13.dfsg-1"), ("dropbear-bin", "2022.83-1+deb12u3"))
        assert calls == [["apt-cache", "show", "--no-all-versions", "dropbear-bin", "zlib1g"]]
        assert dropbear.fingerprint(debs.versions(("zlib1g",), "x")) == "zlib1g=1:1.2.13.dfsg-1"
        assert len(calls) == 1  # zlib1g was known from the first call

    def test_only_packages_not_known_yet_are_asked_with_the_expected_ones(self, monkeypatch):
        calls = []
        monkeypatch.setattr(runner, "run", fake_apt(calls))
        debs.show(("dropbear-bin",))
        assert debs.show(("zlib1g", "dropbear-bin"))["zlib1g"]["Version"] == "1:1.2.13.dfsg-1"
        debs.expect("libc6", "zlib1g")
        debs.show(("dropbear-bin",))
        debs.show(("libgmp10",))
        assert [argv[3:] for argv in calls] == [["dropbear-bin"], ["zlib1g"],
                                                ["libc6", "libgmp10"]]


    def test_unknown_after_an_update_is_a_build_failure(self, monkeypatch):
        calls = []
        monkeypatch.setattr(runner, "run", fake_apt(calls))
        with pytest.raises(exception.LabBuildFailed, match="apt-cache has no libgmp10"):
            debs.versions(("dropbear-bin", "libgmp10"), "ssh server")
        assert [argv[:2] for argv in calls] == [["apt-cache", "show"], ["apt-get", "update"],
                                                ["apt-cache", "show"]]


def test_the_lab_s_builders_expect_the_kernel_and_dropbear_s_packages():
    """'lab up' asks apt once: whichever builder asks first asks for both."""
    assert {guest.KERNEL_METAPACKAGE, *dropbear.PACKAGES} <= debs._EXPECTED  # noqa: SLF001


def test_the_drivers_default_capabilities_keep_what_dropbear_needs():
    """dropbear calls initgroups() before a session even for root (CAP_SETGID; without
    it: "Error changing user group"); it needs no other capability as root."""
    assert "SETGID" in limits.DEFAULT_CAPS
