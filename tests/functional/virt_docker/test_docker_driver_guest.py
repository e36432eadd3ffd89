"""What a process inside a spawned container sees (real dockerd, real OVS), and
``hybridhost shell`` into it; the inspected side is in tests/contract/guest_contract.py."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import hybridhost.virt.docker.driver  # noqa: F401 - registers [hybridhost_docker]
from tests.contract import nova_objects
from tests.functional.virt_docker import base

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SUBNET = ("10.75.0.0/24", "10.75.0.10", "10.75.0.1")


class GuestViewTest(base.DriverTestCase):
    host = "hhtest-guest-docker"  # its own containers: other test runs clean up theirs

    def setUp(self):
        super().setUp()
        self.network_info = nova_objects.with_dns(
            nova_objects.ports(self.bridge, [SUBNET]), "10.75.0.2", "10.75.0.3")
        self.vm = self.spawn(self.add_image(), self.network_info)
        self.conf_file = os.path.join(self.tmp, "hybridhost.conf")
        with open(self.conf_file, "w") as out:
            out.write("[host]\nname = hhtest\ndocker_compute_host = %s\n[docker]\nurl = %s\n"
                      % (self.host, base.DOCKER_URL))

    def shell(self, *args, **kwargs):
        return subprocess.run([sys.executable, "-m", "hybridhost.cmd.main", "--config-file",
                               self.conf_file, "shell", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL, **kwargs)

    def test_resolv_conf_hosts_and_hostname_inside(self):
        self.assertEqual((0, "nameserver 10.75.0.2\nnameserver 10.75.0.3\n"),
                         self.exec(self.vm, "cat", "/etc/resolv.conf"))
        self.assertEqual((0, self.vm.hostname + "\n"), self.exec(self.vm, "hostname"))
        hosts = self.exec(self.vm, "cat", "/etc/hosts")[1].splitlines()
        self.assertIn("10.75.0.10\t%s" % self.vm.hostname, hosts)

    def test_the_files_survive_a_reboot(self):
        self.driver.reboot(self.context, self.vm, self.network_info, "HARD")
        self.assertEqual((0, nova_objects.KEY + "\n"),
                         self.exec(self.vm, "cat", "/root/.ssh/authorized_keys"))
        self.assertIn("nameserver 10.75.0.2", self.exec(self.vm, "cat", "/etc/resolv.conf")[1])

    def test_shell_runs_a_command_by_name_uuid_or_hostname(self):
        for server in (self.vm.display_name, self.vm.uuid, self.vm.hostname):
            done = self.shell(server, "--", "cat", "/etc/hostname")
            self.assertEqual((0, self.vm.hostname + "\n"), (done.returncode, done.stdout), server)
        done = self.shell(self.vm.uuid, "--", "sh", "-c", "echo out; echo err >&2; exit 7")
        self.assertEqual((7, "out\n", "err\n"), (done.returncode, done.stdout, done.stderr))

    def test_shell_says_why_it_cannot(self):
        done = self.shell("no-such-server")
        self.assertEqual(1, done.returncode)
        self.assertIn("No container of %s is server no-such-server" % self.host, done.stderr)
        self.driver.power_off(self.vm)
        done = self.shell(self.vm.uuid, "--", "true")
        self.assertEqual(3, done.returncode)
        self.assertIn("is exited, not running", done.stderr)

    def test_shell_with_a_terminal(self):
        """A pty on our side: the container's shell gets a tty of our terminal's size, and
        its exit code comes back."""
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
            os.chdir(REPO)
            os.execv(sys.executable, [sys.executable, "-m", "hybridhost.cmd.main", "--config-file",
                                      self.conf_file, "shell", self.vm.uuid])
        output = _read_until(fd, b"# ")
        os.write(fd, b"tty; stty size; echo $((6*7)); exit 5\r")
        output += _read_until(fd, b"\x00never", timeout=10)
        status = os.waitpid(pid, 0)[1]
        self.assertIn(b"/dev/pts/", output)
        self.assertIn(b"33 101", output)
        self.assertIn(b"42", output)
        self.assertEqual(5, os.waitstatus_to_exitcode(status))


def _read_until(fd, token, timeout=20.0):
    """What ``fd`` gives until ``token`` or its end; answers busybox's cursor query."""
    output, deadline = b"", time.monotonic() + timeout
    while token not in output and time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.2)[0]:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # the child closed the pty
            break
        if not data:
            break
        output += data
        if b"\x1b[6n" in data:
            os.write(fd, b"\x1b[24;80R")
    return output
