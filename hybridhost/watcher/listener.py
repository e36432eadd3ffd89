"""supervisord's event listener protocol, and nothing else, on the streams given.

The listener writes ``READY``, reads one header line and ``len`` bytes of payload, and
answers ``RESULT 2\\nOK``. Streams are passed in explicitly (bytes, since ``len``
counts bytes): childutils binds ``sys.stdout`` at import, and stdout must carry only
the protocol. A malformed event, or a handler that raises, is logged and answered OK
so that supervisord neither resends it forever nor sees the listener die.
"""

import dataclasses
import logging

LOG = logging.getLogger(__name__)

READY = b"READY\n"
OK = b"RESULT 2\nOK"
#: A payload larger than this is not from supervisord (its events are a few hundred bytes).
MAX_PAYLOAD = 1 << 20


class MalformedEvent(ValueError):
    """A header or payload that does not follow the protocol."""


@dataclasses.dataclass(frozen=True)
class Event:
    name: str
    headers: dict[str, str]
    payload: dict[str, str]
    data: str = ""

    @property
    def process(self):
        """'group:name' of a PROCESS_STATE event."""
        return "%s:%s" % (self.payload.get("groupname"), self.payload.get("processname"))


def tokens(line):
    """``'a:1 b:2'`` -> ``{'a': '1', 'b': '2'}``; MalformedEvent when a token has no ':'."""
    pairs = {}
    for token in line.split():
        key, sep, value = token.partition(":")
        if not sep or not key:
            raise MalformedEvent("token %r is not key:value" % token[:40])
        pairs[key] = value
    return pairs


def _length(headers):
    try:
        length = int(headers["len"])
    except (KeyError, ValueError) as err:
        raise MalformedEvent("no valid len in the header") from err
    if not 0 <= length <= MAX_PAYLOAD:
        raise MalformedEvent("len %d is out of range" % length)
    return length


def read_event(header_line, stdin):
    """The event whose header is ``header_line``; its payload is read from ``stdin``.

    Returns None at end of input. MalformedEvent after reading what could be read."""
    headers = tokens(header_line.decode("utf-8", "replace"))
    length = _length(headers)
    raw = stdin.read(length)
    if len(raw) < length:
        return None
    first, _, data = raw.decode("utf-8", "replace").partition("\n")
    if "eventname" not in headers:
        raise MalformedEvent("no eventname in the header")
    return Event(headers["eventname"], headers, tokens(first), data)


def _answer(stdout, message):
    stdout.write(message)
    stdout.flush()


def serve(stdin, stdout, handle):
    """Answer events until supervisord closes stdin; ``handle(event)`` does the work."""
    while True:
        _answer(stdout, READY)
        line = stdin.readline()
        if not line:
            LOG.info("stdin closed: supervisord has gone, the watcher stops")
            return
        try:
            event = read_event(line, stdin)
        except MalformedEvent as err:
            LOG.warning("malformed event ignored (%s): %r", err, line[:200])
            _answer(stdout, OK)
            continue
        if event is None:
            LOG.info("stdin closed inside an event: supervisord has gone")
            return
        _dispatch(handle, event)
        _answer(stdout, OK)


def _dispatch(handle, event):
    try:
        handle(event)
    except Exception:  # noqa: BLE001 - the listener outlives any error of a round
        LOG.exception("handling %s failed; the watcher goes on", event.name)
