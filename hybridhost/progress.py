"""Progress lines for long commands: ``[  12.3s] message``, timed from the start."""

import time


class Progress:
    """Calls ``out`` with each message prefixed by the seconds since the start."""

    def __init__(self, out, started=None):
        self.started = time.monotonic() if started is None else started
        self._out = out

    @property
    def elapsed(self):
        return time.monotonic() - self.started

    def __call__(self, message):
        self._out("[%6.1fs] %s" % (self.elapsed, message))

    def note(self, message):
        """A line without the time: something to know, not a step."""
        self._out(message)


def printer(stream=None):
    """An ``out`` for :class:`Progress` that prints a line and flushes it."""

    def out(line):
        print(line, file=stream, flush=True)

    return out
