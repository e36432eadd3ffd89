"""``hybridhost shell``: which container a SERVER names, the relay, the refusals."""

import contextlib
import io
import os
import socket
import threading
import unittest

import fixtures

from hybridhost import exception
from hybridhost.cmd import main as cli
from hybridhost.cmd import shell
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import relay

HOST = "box-docker"


def _info(uuid, display_name=None, hostname="", name="instance-1", status="running"):
    labels = {engine_mod.LABEL_UUID: uuid, engine_mod.LABEL_HOST: HOST,
              engine_mod.LABEL_NAME: name}
    if display_name is not None:
        labels[engine_mod.LABEL_DISPLAY_NAME] = display_name
    return engine_mod.ContainerInfo(id="c-" + uuid, uuid=uuid, name=name, status=status, pid=1,
                                    image_id="sha256:x", labels=labels, hostname=hostname)


class FindServerTest(unittest.TestCase):

    INFOS = [_info("u1", "web", "web", "instance-1"), _info("u2", "db", "db", "instance-2"),
             _info("u3", None, "old", "instance-3"), _info("u4", "twin", "t1", "instance-4"),
             _info("u5", "twin", "t2", "instance-5"), _info("web", "other", "o", "instance-6")]

    def test_uuid_then_display_name_hostname_or_instance_name(self):
        found = [shell.find_server(self.INFOS, server, HOST).uuid
                 for server in ("u2", "db", "old", "instance-1", "t2", "web")]
        self.assertEqual(["u2", "u2", "u3", "u1", "u5", "web"], found)

    def test_unknown_and_ambiguous_names(self):
        with self.assertRaises(exception.ServerNotFound) as caught:
            shell.find_server(self.INFOS, "nope", HOST)
        self.assertIn("No container of box-docker is server nope", str(caught.exception))
        with self.assertRaises(exception.ServerAmbiguous) as caught:
            shell.find_server(self.INFOS, "twin", HOST)
        self.assertIn("u4, u5", str(caught.exception))


class RefusalsTest(fixtures.TestWithFixtures):

    def test_not_root(self):
        self.useFixture(fixtures.MonkeyPatch("os.geteuid", lambda: 1000))
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(1, cli.main(["shell", "web", "--", "true"]))
        self.assertIn("hybridhost shell: error: shell needs root", err.getvalue())

    def test_registered_with_its_help(self):
        parser = cli.build_parser()
        args = parser.parse_args(["shell", "web", "--", "cat", "/etc/hostname"])
        self.assertEqual(("web", ["cat", "/etc/hostname"], shell.cmd_shell),
                         (args.server, args.command, args.func))


def _frame(stream, payload):
    return relay.HEADER.pack(stream, len(payload)) + payload


class RelayTest(unittest.TestCase):

    def setUp(self):
        self.ours, self.docker = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.docker.close)
        self.stdin_r, self.stdin_w = os.pipe()
        self.out_r, self.out_w = os.pipe()
        self.err_r, self.err_w = os.pipe()
        for fd in (self.stdin_r, self.stdin_w, self.out_r, self.err_r):
            self.addCleanup(os.close, fd)

    def serve(self, replies):
        """Docker's end: read stdin until it is half-closed, then send ``replies``."""
        received = []

        def run():
            while data := self.docker.recv(1024):
                received.append(data)
            for chunk in replies:
                self.docker.sendall(chunk)
            self.docker.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread, received

    def relay(self, tty, replies, stdin=b"hello\n"):
        thread, received = self.serve(replies)
        os.write(self.stdin_w, stdin)
        os.close(self.stdin_w)
        self.stdin_w = os.open(os.devnull, os.O_RDONLY)
        relay.Relay(self.ours, tty, self.stdin_r, self.out_w, self.err_w).run()
        thread.join(5)
        os.close(self.out_w)
        os.close(self.err_w)
        return (b"".join(received), os.read(self.out_r, 65536), os.read(self.err_r, 65536))

    def test_without_a_tty_frames_are_split_to_stdout_and_stderr(self):
        stream = _frame(1, b"out\n") + _frame(2, b"err\n") + _frame(1, b"more\n")
        chunks = [stream[:3], stream[3:14], stream[14:]]
        self.assertEqual((b"hello\n", b"out\nmore\n", b"err\n"), self.relay(False, chunks))

    def test_with_a_tty_bytes_pass_unchanged(self):
        raw = _frame(2, b"not a frame")
        self.assertEqual((b"hello\n", raw, b""), self.relay(True, [raw]))

    def test_frames_fed_byte_by_byte(self):
        splitter = relay.FrameSplitter()
        stream = _frame(1, b"abc") + _frame(2, b"")
        found = [item for byte in stream for item in splitter.feed(bytes([byte]))]
        self.assertEqual([(1, b"abc"), (2, b"")], found)
