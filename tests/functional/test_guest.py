"""The lab's VM guest, built from Debian packages and booted for real under QEMU TCG.

QEMU's user-mode network (``-nic user``) runs a DHCP server that hands out 10.0.2.15
with gateway 10.0.2.2, so a boot without a config drive checks the guest's whole DHCP
path: kernel, virtio modules from the initramfs, busybox udhcpc and the ping loop. A
boot with a config drive (an ISO made by genisoimage, as nova makes it, on the IDE
CD-ROM nova gives a "pc" machine) checks that the static address in its
network_data.json is the one the guest takes. A boot whose drive also holds a
meta_data.json with a fresh key, QEMU forwarding a local port to the guest's port 22,
checks dropbear and the key reader: ssh with that key logs in, another key does not.
"""

import gzip
import json
import os
import re
import socket
import subprocess
import time

import pytest

from hybridhost.lab import dropbear
from hybridhost.lab import guest
from tests.functional import base
from tests.functional import ssh_client

BOOT_TIMEOUT = 90
SSH_TIMEOUT = 60
LOCAL = "127.0.0.1"


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
    return list(_cpio_modes(path))


def _cpio_modes(path):
    with open(path, "rb") as handle:
        data = gzip.decompress(handle.read())
    modes, offset = {}, 0
    while True:
        header = data[offset:offset + 110]
        mode = int(header[14:22], 16)
        size, namesize = int(header[54:62], 16), int(header[94:102], 16)
        name = data[offset + 110:offset + 110 + namesize - 1].decode()
        if name == "TRAILER!!!":
            return modes
        modes[name] = mode
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

    def test_initramfs_has_dropbear_its_libraries_and_no_host_key(self, artifacts):
        """dropbear, the loader and libc from Debian's packages, the key reader; root's
        home and the host key directory private and empty (keys are made at first use)."""
        modes = _cpio_modes(artifacts.initramfs_path)
        for name in (dropbear.PROGRAM, "lib64/ld-linux-x86-64.so.2",
                     "lib/x86_64-linux-gnu/libc.so.6",
                     "lib/x86_64-linux-gnu/libtomcrypt.so.1", "etc/hybridhost-ssh-keys",
                     "bin/awk"):
            assert name in modes
        assert modes["root"] & 0o777 == 0o700
        assert modes[dropbear.HOST_KEY_DIR] & 0o777 == 0o700
        assert not [n for n in modes if n.startswith(dropbear.HOST_KEY_DIR + "/")]

    def test_second_build_reuses_the_cache(self, cache_dir, artifacts):
        """Unchanged inputs: the same files come back and are not rewritten."""
        before = os.stat(artifacts.initramfs_path).st_mtime_ns
        again = guest.build(cache_dir)
        assert again == artifacts
        assert os.stat(again.initramfs_path).st_mtime_ns == before


def _qemu(artifacts, serial, *extra_qemu_args, nic="user,model=virtio-net-pci"):
    return subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-m", "256",
         "-display", "none", "-monitor", "none", "-no-reboot",
         "-serial", "file:%s" % serial,
         "-kernel", artifacts.kernel_path, "-initrd", artifacts.initramfs_path,
         "-append", artifacts.cmdline, "-nic", nic, *extra_qemu_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _boot_until_it_pings_the_gateway(artifacts, tmp_path, *extra_qemu_args):
    serial = tmp_path / "serial.log"
    started = time.monotonic()
    qemu = _qemu(artifacts, serial, *extra_qemu_args)
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


def _config_drive(tmp_path, network_data, meta_data=None):
    """An OpenStack config drive as nova builds it: ISO 9660, label config-2."""
    base.require_binaries("genisoimage")
    tree = tmp_path / "config-drive"
    (tree / "openstack" / "latest").mkdir(parents=True)
    (tree / "openstack" / "latest" / "network_data.json").write_text(json.dumps(network_data))
    if meta_data is not None:
        (tree / "openstack" / "latest" / "meta_data.json").write_text(json.dumps(meta_data))
    iso = tmp_path / "config-drive.iso"
    subprocess.run(["genisoimage", "-o", str(iso), "-ldots", "-allow-lowercase",
                    "-allow-multidot", "-l", "-quiet", "-J", "-r", "-V", "config-2",
                    str(tree)], check=True)
    return iso


#: nova's network_data.json for a subnet with DHCP off: 10.0.2.20, not QEMU's 10.0.2.15.
STATIC_NETWORK_DATA = {
    "links": [{"id": "tap0", "vif_id": "x", "type": "ovs", "mtu": 1400,
               "ethernet_mac_address": "52:54:00:12:34:56"}],
    "networks": [{"id": "network0", "type": "ipv4", "link": "tap0",
                  "ip_address": "10.0.2.20", "netmask": "255.255.255.0",
                  "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0",
                              "gateway": "10.0.2.2"}],
                  "network_id": "n", "services": []}],
    "services": []}


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
        iso = _config_drive(tmp_path, STATIC_NETWORK_DATA)
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



def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

class TestSsh:
    def test_the_config_drive_s_key_logs_in_and_another_key_is_refused(self, artifacts,
                                                                        tmp_path):
        """meta_data.json's public_keys (nova's shape, the key with its trailing
        newline) become root's authorized_keys; dropbear takes that key, only that one."""
        base.require_binaries("ssh", "ssh-keygen")
        key, public = ssh_client.keypair(tmp_path, "right")
        wrong, _ = ssh_client.keypair(tmp_path, "wrong")
        iso = _config_drive(tmp_path, STATIC_NETWORK_DATA, {
            "uuid": "u", "meta": {}, "public_keys": {"hhkey": public + "\n"},
            "keys": [{"name": "hhkey", "type": "ssh", "data": public + "\n"}],
            "hostname": "vm.novalocal", "name": "vm", "launch_index": 0})
        port = _free_port()
        serial = tmp_path / "serial.log"
        started = time.monotonic()
        qemu = _qemu(artifacts, serial, "-drive",
                     "file=%s,media=cdrom,if=ide,readonly=on" % iso,
                     nic="user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%d-10.0.2.20:22"
                     % port)
        try:
            log = base.wait_until(lambda: _console_if(serial, " ready ip="), BOOT_TIMEOUT,
                                  interval=0.25, what="the guest to be ready")
            ready = time.monotonic() - started
            result = base.wait_until(lambda: ssh_client.logged_in(key, LOCAL, port),
                                     SSH_TIMEOUT, what="an ssh login into the guest")
            login = time.monotonic() - started
            refused = ssh_client.ssh(wrong, LOCAL, port)
            inside = ssh_client.ssh(key, LOCAL, port, "cat /root/.ssh/authorized_keys; id -u")
        finally:
            qemu.kill()
            qemu.wait()
        print("guest ready %.1fs, first ssh login %.1fs after QEMU started" % (ready, login))
        assert re.search(r"^HYBRIDHOST-GUEST ready ip=10\.0\.2\.20 keys=1 ", log, re.M)
        assert result.returncode == 0
        assert ssh_client.refused(refused)
        assert inside.stdout == public + "\n0\n"
