"""The listener protocol with bytes streams, as supervisor's test_childutils does."""

import io

from hybridhost.watcher import listener


def _event(name, payload, serial=1):
    body = payload.encode()
    header = "ver:3.0 server:supervisor serial:%d pool:w poolserial:%d eventname:%s len:%d\n" % (
        serial, serial, name, len(body))
    return header.encode() + body


def _serve(data, handle):
    out = io.BytesIO()
    listener.serve(io.BytesIO(data), out, handle)
    return out.getvalue()


def test_each_event_is_handled_and_answered_ok():
    seen = []
    data = (_event("TICK_5", "when:1201063880") +
            _event("PROCESS_STATE_RUNNING",
                   "processname:cat groupname:demo from_state:STARTING pid:42", 2))
    out = _serve(data, seen.append)
    assert out == (listener.READY + listener.OK) * 2 + listener.READY
    assert [e.name for e in seen] == ["TICK_5", "PROCESS_STATE_RUNNING"]
    assert seen[1].process == "demo:cat" and seen[1].payload["pid"] == "42"
    assert seen[0].headers["serial"] == "1"


def test_malformed_headers_and_payloads_are_answered_and_skipped():
    """Garbage never stops the listener: it answers OK (supervisord would resend a
    FAIL) and handles the next good event."""
    seen = []
    data = (b"this is not a header\n"
            + b"ver:3.0 eventname:TICK_5 len:-3\n"
            + b"ver:3.0 eventname:TICK_5 len:huge\n"
            + b"ver:3.0 len:4\nabcd"
            + b"ver:3.0 eventname:TICK_5 len:7\nnot kv!"
            + _event("TICK_5", "when:1"))
    out = _serve(data, seen.append)
    assert out.count(listener.OK) == 6
    assert [e.payload for e in seen] == [{"when": "1"}]


def test_a_handler_error_is_logged_and_the_listener_goes_on(caplog):
    calls = []

    def handle(event):
        calls.append(event.name)
        raise RuntimeError("probe blew up")

    out = _serve(_event("TICK_5", "when:1") + _event("TICK_5", "when:2", 2), handle)
    assert calls == ["TICK_5", "TICK_5"] and out.count(listener.OK) == 2
    assert "handling TICK_5 failed" in caplog.text and "probe blew up" in caplog.text


def test_end_of_input_inside_a_payload_stops_quietly():
    seen = []
    out = _serve(b"ver:3.0 eventname:TICK_5 len:50\nwhen:1", seen.append)
    assert seen == [] and out == listener.READY


def test_payload_length_counts_bytes_not_characters():
    seen = []
    _serve(_event("PROCESS_STATE_EXITED", "processname:caf\u00e9 groupname:g expected:0 pid:1"),
           seen.append)
    assert seen[0].process == "g:caf\u00e9" and seen[0].payload["expected"] == "0"
