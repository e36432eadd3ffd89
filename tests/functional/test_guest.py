"""The lab's VM guest, built from Debian packages and booted for real under QEMU TCG.

QEMU's user-mode network (``-nic user``) runs a DHCP server that hands out 10.0.2.15
with gateway 10.0.2.2, so a boot without a config drive checks the guest's whole DHCP
path: kernel, virtio modules from the initramfs, busybox udhcpc and the ping loop. A
boot with a config drive (an ISO made by genisoimage, as nova makes it, on the IDE
CD-ROM nova gives a "pc" machine) checks that the static address in its
network_data.json is the one the guest takes.
"""

import gzip
import json
import os
import re
import subprocess
import time

import pytest

from hybridhost.lab import guest
from tests.functional import base

BOOT_TIMEOUT = 90


def _require_tools():
    base.require_binaries("apt-get", "apt-cache", "dpkg-deb", "qemu-system-x86_64")
    base.require(os.path.exists(guest.BUSYBOX), "missing %s (apt-get install "
                 "busybox-static)" % guest.BUSYBOX)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("guest-cache"))


@pytest.fixture(scope="module")
def artifacts(cache_dir):
    _require_tools()
    return guest.build(cache_dir)


def _cpio_names(path):
    with open(path, "rb") as handle:
        data = gzip.decompress(handle.read())
    names, offset = [], 0
    while True:
        header = data[offset:offset + 110]
        size, namesize = int(header[54:62], 16), int(header[94:102], 16)
        name = data[offset + 110:offset + 110 + namesize - 1].decode()
        if name == "TRAILER!!!":
            return names
        names.append(name)
        offset += 110 + namesize
        offset += -offset % 4
        offset += size + (-size % 4)


class TestBuild:
    def test_initramfs_has_init_busybox_and_the_modules(self, artifacts):
        """/init, static busybox, virtio_net and the CD-ROM stack (config drive)
        with their dependencies."""
        names = _cpio_names(artifacts.initramfs_path)
        for name in ("init", "bin/busybox", "bin/udhcpc", "dev/console",
                     "etc/hybridhost-config-drive",
                     "lib/modules/virtio_net.ko", "lib/modules/virtio_pci.ko",
                     "lib/modules/virtio.ko", "lib/modules/net_failover.ko",
                     "lib/modules/ata_piix.ko", "lib/modules/libata.ko",
                     "lib/modules/sr_mod.ko", "lib/modules/cdrom.ko",
                     "lib/modules/isofs.ko"):
            assert name in names
        assert "console=ttyS0" in artifacts.cmdline

    def test_second_build_reuses_the_cache(self, cache_dir, artifacts):
        """Unchanged inputs: the same files come back and are not rewritten."""
        before = os.stat(artifacts.initramfs_path).st_mtime_ns
        again = guest.build(cache_dir)
        assert again == artifacts
        assert os.stat(again.initramfs_path).st_mtime_ns == before


def _boot_until_it_pings_the_gateway(artifacts, tmp_path, *extra_qemu_args):
    serial = tmp_path / "serial.log"
    started = time.monotonic()
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-m", "256",
         "-display", "none", "-monitor", "none", "-no-reboot",
         "-serial", "file:%s" % serial,
         "-kernel", artifacts.kernel_path, "-initrd", artifacts.initramfs_path,
         "-append", artifacts.cmdline, "-nic", "user,model=virtio-net-pci",
         *extra_qemu_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        log = base.wait_until(
            lambda: _console_if(serial, "HYBRIDHOST-PING 10.0.2.2 ok"),
            BOOT_TIMEOUT, interval=0.25, what="the guest to ping 10.0.2.2")
    finally:
        qemu.kill()
        qemu.wait()
    print("guest pinged its gateway %.1fs after QEMU started:\n%s" % (
        time.monotonic() - started, log))
    assert re.search(r"^HYBRIDHOST-GUEST init kernel=\S+-cloud-amd64 ", log, re.M)
    assert "module=" not in log and "eth0=missing" not in log
    assert log.count("HYBRIDHOST-PING 10.0.2.2 ok") == 1
    return log


def _config_drive(tmp_path, network_data):
    """An OpenStack config drive as nova builds it: ISO 9660, label config-2."""
    base.require_binaries("genisoimage")
    tree = tmp_path / "config-drive"
    (tree / "openstack" / "latest").mkdir(parents=True)
    (tree / "openstack" / "latest" / "network_data.json").write_text(json.dumps(network_data))
    iso = tmp_path / "config-drive.iso"
    subprocess.run(["genisoimage", "-o", str(iso), "-ldots", "-allow-lowercase",
                    "-allow-multidot", "-l", "-quiet", "-J", "-r", "-V", "config-2",
                    str(tree)], check=True)
    return iso


class TestBoot:
    def test_without_a_config_drive_it_takes_a_dhcp_lease_and_pings(self, artifacts,
                                                                     tmp_path):
        """Banner, DHCP lease (10.0.2.15 from QEMU's DHCP), ready, and a ping answer."""
        log = _boot_until_it_pings_the_gateway(artifacts, tmp_path)
        assert re.search(r"^HYBRIDHOST-GUEST ip=10\.0\.2\.15 prefix=24 router=10\.0\.2\.2 "
                         r"source=dhcp ", log, re.M)
        assert re.search(r"^HYBRIDHOST-GUEST ready ip=10\.0\.2\.15 ", log, re.M)

    def test_with_a_config_drive_it_takes_the_static_address_from_it(self, artifacts,
                                                                      tmp_path):
        """nova's network_data.json for a subnet with DHCP off: 10.0.2.20, not the
        10.0.2.15 QEMU's DHCP would give, so the address can only come from the drive."""
        iso = _config_drive(tmp_path, {
            "links": [{"id": "tap0", "vif_id": "x", "type": "ovs", "mtu": 1400,
                       "ethernet_mac_address": "52:54:00:12:34:56"}],
            "networks": [{"id": "network0", "type": "ipv4", "link": "tap0",
                          "ip_address": "10.0.2.20", "netmask": "255.255.255.0",
                          "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0",
                                      "gateway": "10.0.2.2"}],
                          "network_id": "n", "services": []}],
            "services": []})
        log = _boot_until_it_pings_the_gateway(
            artifacts, tmp_path, "-drive", "file=%s,media=cdrom,if=ide,readonly=on" % iso)
        assert re.search(r"^HYBRIDHOST-GUEST ip=10\.0\.2\.20 prefix=24 router=10\.0\.2\.2 "
                         r"source=config-drive ", log, re.M)
        assert re.search(r"^HYBRIDHOST-GUEST ready ip=10\.0\.2\.20 ", log, re.M)
        assert "source=dhcp" not in log


def _console_if(path, needle):
    try:
        text = path.read_text(errors="replace").replace("\r", "")
    except FileNotFoundError:
        return None
    return text if needle in text else None
