"""Docker events -> nova lifecycle events, on native threads.

The watcher streams this service's container events (the engine adapter filters
on the host label), turns start/die/pause/unpause into
``nova.virt.event.LifecycleEvent`` and hands them to the driver's ``emit_event``.
A ``start`` the driver did not cause itself (a ``docker start``/``restart`` from
outside, or a daemon restart) creates a new network namespace, so ``on_start`` is
also called to re-plug. A broken stream is re-opened from the last event seen.

The thread reading the stream only sorts: ``on_start`` must return at once (the
driver's hands the instance to the VIF reconciler's thread), and the lifecycle
events go through a queue to a second thread, so a slow nova call (its handler
reads the database through the conductor) never holds up the next event or a
re-plug.

That second thread calls ``on_stop(uuid)`` as soon as a container died, but holds
the Stopped event back ``stopped_delay`` seconds and drops it when another event of
the same instance comes first, as nova's libvirt driver does (15 s): a restart
(``docker restart``, the OOM killer's victim started again) is not reported as a
shutdown, on which nova would power the instance off.

When the stream is lost (dockerd stopped) no held-back Stopped event is reported until
it is open again and ``on_reconnect()`` has run (on a thread of its own): without
live-restore dockerd stops every container as it goes, and the driver starts again
those nova still records running. Then each Stopped event still held gets the whole
delay again, so the start events of the containers started again come first.
"""

import logging
import queue
import threading
import time

from nova.virt import event as virtevent

from hybridhost import exception
from hybridhost.virt.docker import engine as engine_mod

LOG = logging.getLogger(__name__)

TRANSITIONS = {
    "start": virtevent.EVENT_LIFECYCLE_STARTED,
    "die": virtevent.EVENT_LIFECYCLE_STOPPED,
    "pause": virtevent.EVENT_LIFECYCLE_PAUSED,
    "unpause": virtevent.EVENT_LIFECYCLE_RESUMED,
}


def lifecycle_event(docker_event):
    """The LifecycleEvent for a decoded Docker event, or None if it maps to none."""
    action = docker_event.get("Action") or docker_event.get("status")
    attributes = (docker_event.get("Actor") or {}).get("Attributes") or {}
    uuid = attributes.get(engine_mod.LABEL_UUID)
    transition = TRANSITIONS.get(action)
    if not uuid or transition is None:
        return None
    return virtevent.LifecycleEvent(uuid, transition)


STOPPED_DELAY = 15.0
#: Markers on the queue of lifecycle events: the stream is lost / open again.
_HOLD, _REARM = "hold", "rearm"


def _next_timeout(delayed):
    """Seconds until the first held-back event is due; None when none is held."""
    if not delayed:
        return None
    return max(0.0, min(deadline for deadline, _event in delayed.values()) - time.monotonic())


def _pop_due(delayed):
    now = time.monotonic()
    due = [uuid for uuid, (deadline, _event) in delayed.items() if deadline <= now]
    return [delayed.pop(uuid)[1] for uuid in due]


def _rearm(delayed, delay):
    deadline = time.monotonic() + delay
    for uuid, (_deadline, event) in list(delayed.items()):
        delayed[uuid] = (deadline, event)


class EventWatcher:
    """Daemon threads feeding ``emit(LifecycleEvent)``, ``on_start(uuid)`` and
    ``on_stop(uuid)``."""

    def __init__(self, engine, emit, on_start, on_stop=None, retry_interval=2.0,
                 stopped_delay=STOPPED_DELAY, on_reconnect=None):
        self.engine = engine
        self.emit = emit
        self.on_start = on_start
        self.on_stop = on_stop
        self.on_reconnect = on_reconnect
        self._lost = False
        self.stopped_delay = stopped_delay
        self.retry_interval = retry_interval
        self._stopped = threading.Event()
        self._stream = None
        self._since = None
        self._thread = None
        self._emitter = None
        self._pending = queue.Queue()

    def start(self):
        self._since = int(time.time())
        self._thread = threading.Thread(target=self._run, name="hh-docker-events", daemon=True)
        self._emitter = threading.Thread(target=self._emit_pending, name="hh-docker-emit",
                                         daemon=True)
        self._emitter.start()
        self._thread.start()
        LOG.info("Docker events watcher started for host %s", self.engine.host)

    def stop(self, timeout=5):
        self._stopped.set()
        self._pending.put(None)
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:
                LOG.debug("Closing the events stream failed", exc_info=True)
        for thread in (self._thread, self._emitter):
            if thread is not None:
                thread.join(timeout)
        LOG.info("Docker events watcher stopped")

    @property
    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def _run(self):
        while not self._stopped.is_set():
            try:
                self._consume()
            except exception.HybridhostError as err:
                if not self._stopped.is_set():
                    LOG.warning("Docker events stream lost (%s); retrying", err)
            except Exception:
                if not self._stopped.is_set():
                    LOG.warning("Docker events stream failed; retrying", exc_info=True)
            if not self._lost and not self._stopped.is_set():
                self._lost = True
                self._pending.put(_HOLD)
            self._stopped.wait(self.retry_interval)

    def _reopened(self):
        def run():
            try:
                self.on_reconnect()
            except Exception:
                LOG.warning("Handling the Docker engine's return failed", exc_info=True)
            finally:
                self._pending.put(_REARM)

        self._lost = False
        if self.on_reconnect is None:
            self._pending.put(_REARM)
            return
        threading.Thread(target=run, name="hh-docker-reconnect", daemon=True).start()

    def _consume(self):
        self._stream = self.engine.events(since=self._since)
        if self._lost:
            self._reopened()
        for docker_event in self._stream:
            if self._stopped.is_set():
                return
            self._since = int(docker_event.get("time") or self._since)
            self.handle(docker_event)

    def handle(self, docker_event):
        event = lifecycle_event(docker_event)
        if event is None:
            return
        LOG.debug("Docker event %(action)s for %(uuid)s",
                  {"action": docker_event.get("Action"), "uuid": event.uuid})
        if event.transition == virtevent.EVENT_LIFECYCLE_STARTED:
            self._call(self.on_start, event.uuid, event.uuid)
        self._pending.put(event)

    def _emit_pending(self):
        delayed = {}  # uuid -> (when due, the Stopped event held back)
        holding = False
        while True:
            try:
                event = self._pending.get(timeout=None if holding else _next_timeout(delayed))
            except queue.Empty:
                event = False
            if event is None:
                return
            if event in (_HOLD, _REARM):
                holding = event == _HOLD
                if not holding:
                    _rearm(delayed, self.stopped_delay)
            elif event:
                self._sort(event, delayed)
            for due in [] if holding else _pop_due(delayed):
                self._call(self.emit, due, due.uuid)

    def _sort(self, event, delayed):
        if delayed.pop(event.uuid, None) is not None:
            LOG.debug("Not reporting the stop of %(uuid)s: %(event)s came first",
                      {"uuid": event.uuid, "event": event.get_name()})
        if event.transition != virtevent.EVENT_LIFECYCLE_STOPPED:
            self._call(self.emit, event, event.uuid)
            return
        if self.on_stop is not None:
            self._call(self.on_stop, event.uuid, event.uuid)
        delayed[event.uuid] = (time.monotonic() + self.stopped_delay, event)

    @staticmethod
    def _call(func, argument, uuid):
        """Run a handler; a failing one must not stop the watcher."""
        try:
            func(argument)
        except Exception:
            LOG.warning("Handling the Docker event for %s failed", uuid, exc_info=True)
