"""Keep every running container's VIFs plugged, on a thread of its own.

A container restarted outside nova (``docker restart``, a dockerd restart without
live-restore, a start after the OOM killer) has a new network namespace without its
interfaces. The driver hears of most of those through Docker's events and calls
:meth:`Reconciler.kick`; every ``interval`` seconds the reconciler also checks all
running containers (their events may have been missed while the stream was down), so
a VIF broken by any means (veth deleted, OVS row gone, no ofport) is plugged again.

``repair(uuid)`` does the work (the driver's: check each saved VIF, plug what is not
intact, under the instance's lock); it raises when it could not. A failed repair is
retried after a delay that doubles from ``backoff_min`` up to ``backoff_max`` and is
never dropped while the container runs; a kick (the container started again) retries
at once. Pure scheduling here: no Docker, OVS or nova.
"""

import logging
import threading
import time

LOG = logging.getLogger(__name__)


class Backoff:
    """The failures of each instance and when to try it again (the clock is given)."""

    def __init__(self, minimum, maximum):
        self.minimum = minimum
        self.maximum = maximum
        self._failures = {}  # uuid -> (count, next attempt)

    def failed(self, uuid, now):
        """Record a failure; returns the delay before the next attempt."""
        count = self._failures.get(uuid, (0, now))[0] + 1
        delay = min(self.minimum * 2 ** (count - 1), self.maximum)
        self._failures[uuid] = (count, now + delay)
        return delay

    def succeeded(self, uuid):
        self._failures.pop(uuid, None)

    def failures(self, uuid):
        return self._failures.get(uuid, (0, 0.0))[0]

    def waiting(self, uuid, now):
        """True while ``uuid`` failed and its next attempt is not due."""
        entry = self._failures.get(uuid)
        return entry is not None and now < entry[1]

    def due(self, now):
        return [uuid for uuid, (_count, when) in self._failures.items() if when <= now]

    def next_due(self):
        return min((when for _count, when in self._failures.values()), default=None)

    def forget_all_but(self, uuids):
        for uuid in set(self._failures) - set(uuids):
            del self._failures[uuid]


class Reconciler:
    """Runs ``repair(uuid)`` for kicked, failed and (every ``interval``) all running
    instances, as listed by ``list_running()``."""

    def __init__(self, list_running, repair, interval=5.0, backoff_min=1.0, backoff_max=60.0,
                 clock=time.monotonic, screen=None):
        self.list_running = list_running
        self.repair = repair
        #: ``screen(uuids)``: which of the scanned instances look broken (a cheap check
        #: for the whole scan); kicked and failed ones are always repaired.
        self.screen = screen or (lambda uuids: uuids)
        self.interval = interval
        self.backoff = Backoff(backoff_min, backoff_max)
        self.clock = clock
        self._kicked = []
        self._cond = threading.Condition()
        self._stopped = False
        self._next_scan = 0.0
        self._thread = None

    # --- what others call ---------------------------------------------------------

    def kick(self, uuid):
        """Check ``uuid`` now (it started): never blocks on a repair."""
        with self._cond:
            if uuid not in self._kicked:
                self._kicked.append(uuid)
            self._cond.notify()

    def failed(self, uuid, error):
        """A repair done elsewhere (nova-compute's start) failed: retry it here."""
        with self._cond:
            delay = self.backoff.failed(uuid, self.clock())
            self._cond.notify()
        LOG.warning("VIFs of instance %(uuid)s not plugged (%(err)s); retrying in %(delay)ss",
                    {"uuid": uuid, "err": error, "delay": delay})

    def start(self):
        self._thread = threading.Thread(target=self._run, name="hh-docker-reconcile",
                                        daemon=True)
        self._thread.start()
        LOG.info("VIF reconciler started (every %ss)", self.interval)

    def stop(self, timeout=5):
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    # --- the work -----------------------------------------------------------------

    def run_once(self):
        """One round: kicked instances, due retries, and every running one when the
        scan is due. Returns the instances repaired."""
        now = self.clock()
        running = []
        if now >= self._next_scan:
            self._next_scan = now + self.interval
            running = self._running()  # forgets the failures of what no longer runs
        with self._cond:
            todo, self._kicked = list(self._kicked), []
            todo += [u for u in self.backoff.due(now) if u not in todo]
        scanned = [u for u in running if u not in todo and not self.backoff.waiting(u, now)]
        todo += self._screened(scanned)
        return [uuid for uuid in todo if self._attempt(uuid)]

    def _running(self):
        try:
            running = list(self.list_running())
        except Exception as err:  # noqa: BLE001 - the engine may be away; next round
            LOG.warning("Could not list the running containers: %s", err)
            return []
        with self._cond:
            self.backoff.forget_all_but(running)
        return running

    def _screened(self, uuids):
        if not uuids:
            return []
        try:
            return list(self.screen(uuids))
        except Exception as err:  # noqa: BLE001 - then check each one the full way
            LOG.warning("Could not screen the running containers: %s", err)
            return uuids

    def _attempt(self, uuid):
        try:
            repaired = self.repair(uuid)
        except Exception as err:  # noqa: BLE001 - any failure is retried, never fatal
            self.failed(uuid, err)
            return False
        with self._cond:
            if self.backoff.failures(uuid):
                LOG.info("VIFs of instance %s plugged again after failures", uuid)
            self.backoff.succeeded(uuid)
        return bool(repaired)

    def _timeout(self):
        deadlines = [self._next_scan, self.backoff.next_due()]
        soonest = min(d for d in deadlines if d is not None)
        return max(0.0, soonest - self.clock())

    def _run(self):
        while True:
            with self._cond:
                if not self._kicked and not self._stopped:
                    self._cond.wait(self._timeout())
                if self._stopped:
                    return
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the loop must outlive any bug in a round
                LOG.exception("VIF reconcile round failed")
