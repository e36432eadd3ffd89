"""A terminal relay between this process's stdin/stdout/stderr and a ``docker exec``
socket (what ``hybridhost shell`` runs); nothing here knows about nova or the engine.

With a tty the socket carries raw bytes both ways and the local terminal is put in raw
mode (every key, Ctrl-C included, goes to the container) and restored on exit; without
one, what comes back is Docker's multiplexed stream: frames of an 8-byte header
(stream 1 stdout or 2 stderr, 3 zero bytes, the payload's length as a big-endian
32-bit integer) followed by the payload. End of input half-closes the socket, which
closes the command's stdin; the command's exit closes the socket.
"""

from collections.abc import Callable
from collections.abc import Iterator
import contextlib
import os
import select
import signal
import socket
import struct
import termios
import tty as tty_mod

BUFSIZE = 65536
HEADER = struct.Struct(">BxxxL")
STDOUT, STDERR = 1, 2


class FrameSplitter:
    """Docker's multiplexed stream, fed in arbitrary chunks, as (stream, payload) pairs."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self.buffer += data
        while len(self.buffer) >= HEADER.size:
            stream, size = HEADER.unpack_from(self.buffer)
            if len(self.buffer) < HEADER.size + size:
                return
            payload = self.buffer[HEADER.size:HEADER.size + size]
            self.buffer = self.buffer[HEADER.size + size:]
            yield stream, payload


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Relay:
    """Copies ``stdin_fd`` to ``sock`` and ``sock`` to ``stdout_fd``/``stderr_fd`` until
    the command ends (the socket closes)."""

    def __init__(self, sock: socket.socket, tty: bool, stdin_fd: int | None = 0,
                 stdout_fd: int = 1, stderr_fd: int = 2) -> None:
        self.sock = sock
        self.tty = tty
        self.stdin_fd = stdin_fd
        self.outputs = {STDOUT: stdout_fd, STDERR: stderr_fd}
        self.frames = FrameSplitter()

    def run(self) -> None:
        inputs: list[int | socket.socket] = [self.sock]
        if self.stdin_fd is not None:
            inputs.append(self.stdin_fd)
        while True:
            readable = select.select(inputs, [], [])[0]
            if self.sock in readable and not self._from_container():
                return
            if self.stdin_fd in readable and not self._to_container(self.stdin_fd):
                inputs.remove(self.stdin_fd)

    def _from_container(self) -> bool:
        data = self.sock.recv(BUFSIZE)
        if not data:
            return False
        if self.tty:
            write_all(self.outputs[STDOUT], data)
        else:
            for stream, payload in self.frames.feed(data):
                write_all(self.outputs.get(stream, self.outputs[STDOUT]), payload)
        return True

    def _to_container(self, stdin_fd: int) -> bool:
        data = os.read(stdin_fd, BUFSIZE)
        try:
            if data:
                self.sock.sendall(data)
                return True
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the command is gone: its output still drains, then the socket closes
        return False


@contextlib.contextmanager
def raw_terminal(fd: int, resize: Callable[[int, int], None]) -> Iterator[None]:
    """``fd``'s terminal in raw mode, its size (now and on SIGWINCH) sent to ``resize``
    as (rows, columns); everything restored on exit."""
    saved = termios.tcgetattr(fd)

    def send_size(*_args: object) -> None:
        size = os.get_terminal_size(fd)
        resize(size.lines, size.columns)

    previous = signal.signal(signal.SIGWINCH, send_size)
    try:
        tty_mod.setraw(fd)
        send_size()
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
