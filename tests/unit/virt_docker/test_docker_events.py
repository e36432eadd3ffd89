"""Docker events -> nova lifecycle events (fake engine client, real watcher thread)."""

import threading
import time
import unittest

from nova.virt import event as virtevent

from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import events
from hybridhost.virt.docker import limits
from tests.unit.virt_docker import fakes

SAFE = limits.host_config_kwargs(limits.limits_for(64, 1, 64))


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.02)
    return predicate()


class MappingTest(unittest.TestCase):

    def test_actions_map_to_transitions(self):
        for action, transition in (("start", virtevent.EVENT_LIFECYCLE_STARTED),
                                   ("die", virtevent.EVENT_LIFECYCLE_STOPPED),
                                   ("pause", virtevent.EVENT_LIFECYCLE_PAUSED),
                                   ("unpause", virtevent.EVENT_LIFECYCLE_RESUMED)):
            event = events.lifecycle_event({"Action": action, "Actor": {"Attributes": {
                engine_mod.LABEL_UUID: "u-1"}}})
            self.assertEqual(("u-1", transition), (event.uuid, event.transition))

    def test_unlabelled_or_other_actions_are_ignored(self):
        self.assertIsNone(events.lifecycle_event({"Action": "start", "Actor": {"Attributes": {}}}))
        self.assertIsNone(events.lifecycle_event({"Action": "exec_start", "Actor": {
            "Attributes": {engine_mod.LABEL_UUID: "u"}}}))


class WatcherTest(unittest.TestCase):

    def setUp(self):
        self.client = fakes.FakeDockerClient()
        self.engine = engine_mod.Engine(self.client, "me")
        self.emitted, self.started, self.stopped = [], [], []
        self.watcher = events.EventWatcher(self.engine, self.emitted.append, self.started.append,
                                           on_stop=self.stopped.append, retry_interval=0.05,
                                           stopped_delay=0.05)
        self.watcher.start()
        self.addCleanup(self.watcher.stop)

    def test_own_container_events_are_emitted_and_starts_reported(self):
        image = self.client.add_image()
        self.engine.create("u-1", "n", image, SAFE)
        engine_mod.Engine(self.client, "other").create("u-2", "n", image, SAFE)
        for uuid in ("u-1",):
            self.engine.start(uuid)
            self.engine.stop(uuid, 1)
        self.client.start(engine_mod.Engine(self.client, "other").get("u-2").id)
        self.assertTrue(_wait(lambda: len(self.emitted) >= 2))
        time.sleep(0.2)
        self.assertEqual([("u-1", "Started"), ("u-1", "Stopped")],
                         [(e.uuid, e.get_name()) for e in self.emitted])
        self.assertEqual(["u-1"], self.started)

    def test_a_broken_stream_is_reopened(self):
        calls = []
        real = self.engine.events

        def flaky(since=None, until=None):
            calls.append(since)
            if len(calls) == 1:
                raise RuntimeError("connection reset")
            return real(since=since, until=until)

        self.watcher.stop()
        self.engine.events = flaky
        self.watcher = events.EventWatcher(self.engine, self.emitted.append, self.started.append,
                                           retry_interval=0.05, stopped_delay=0.05)
        self.watcher.start()
        self.engine.create("u-3", "n", self.client.add_image(), SAFE)
        self.engine.start("u-3")
        self.assertTrue(_wait(lambda: self.started == ["u-3"]))
        self.assertGreaterEqual(len(calls), 2)

    def test_a_failing_replug_still_emits_the_event(self):
        def broken(uuid):
            raise RuntimeError("replug failed")

        self.watcher.on_start = broken
        self.engine.create("u-4", "n", self.client.add_image(), SAFE)
        self.engine.start("u-4")
        self.assertTrue(_wait(lambda: [e.uuid for e in self.emitted] == ["u-4"]))
        self.assertTrue(self.watcher.alive)

    def test_a_slow_nova_call_does_not_hold_up_the_next_start(self):
        """Lifecycle events go to nova from a thread of their own."""
        release = threading.Event()
        self.addCleanup(release.set)

        def slow_emit(event):
            release.wait(10)
            self.emitted.append(event)

        self.watcher.emit = slow_emit
        image = self.client.add_image()
        for uuid in ("u-5", "u-6"):
            self.engine.create(uuid, "n", image, SAFE)
            self.engine.start(uuid)
        self.assertTrue(_wait(lambda: self.started == ["u-5", "u-6"], timeout=2.0))
        self.assertEqual([], self.emitted)
        release.set()
        self.assertTrue(_wait(lambda: [e.uuid for e in self.emitted] == ["u-5", "u-6"]))

    def test_a_stop_is_reported_at_once_to_on_stop_and_later_to_nova(self):
        self.watcher.stopped_delay = 0.5
        self.engine.create("u-7", "n", self.client.add_image(), SAFE)
        self.engine.start("u-7")
        self.engine.stop("u-7", 1)
        self.assertTrue(_wait(lambda: self.stopped == ["u-7"], timeout=0.4))
        self.assertEqual(["Started"], [e.get_name() for e in self.emitted])
        self.assertTrue(_wait(lambda: len(self.emitted) == 2, timeout=2.0))
        self.assertEqual("Stopped", self.emitted[1].get_name())

    def test_a_restart_is_not_reported_as_a_stop(self):
        """The Stopped of a container started again within the delay never reaches nova."""
        self.watcher.stopped_delay = 0.5
        self.engine.create("u-8", "n", self.client.add_image(), SAFE)
        self.engine.start("u-8")
        self.engine.stop("u-8", 1)
        self.engine.start("u-8")
        self.assertTrue(_wait(lambda: len(self.emitted) == 2, timeout=2.0))
        time.sleep(0.7)
        self.assertEqual(["Started", "Started"], [e.get_name() for e in self.emitted])
        self.assertEqual(["u-8"], self.stopped)

    def test_stops_are_held_while_dockerd_is_away_and_what_it_restarts_is_never_reported(self):
        """dockerd without live-restore stops the containers, then its stream ends; once
        it answers again on_reconnect starts one of them: only the other's stop reaches
        nova, the delay after the engine is back."""
        self.watcher.stop()
        down = threading.Event()
        real = self.engine.events

        def events_while_up(since=None, until=None):
            if down.is_set():
                raise RuntimeError("dockerd is restarting")
            return real(since=since, until=until)

        self.engine.events = events_while_up
        reconnected = []

        def revive():
            reconnected.append(time.monotonic())
            self.engine.start("u-a")

        self.watcher = events.EventWatcher(self.engine, self.emitted.append, self.started.append,
                                           retry_interval=0.05, stopped_delay=1.0,
                                           on_reconnect=revive)
        self.watcher.start()
        image = self.client.add_image()
        for uuid in ("u-a", "u-b"):
            self.engine.create(uuid, "n", image, SAFE)
            self.engine.start(uuid)
        self.assertTrue(_wait(lambda: len(self.emitted) == 2))
        for uuid in ("u-a", "u-b"):
            self.engine.stop(uuid, 1)
        down.set()
        self.watcher._stream.close()  # noqa: SLF001 - dockerd ends the stream as it stops
        time.sleep(1.5)  # past the delay: held
        self.assertEqual(["Started", "Started"], [e.get_name() for e in self.emitted])
        down.clear()
        self.assertTrue(_wait(lambda: ("u-b", "Stopped") in [
            (e.uuid, e.get_name()) for e in self.emitted], timeout=5.0))
        time.sleep(0.5)
        self.assertEqual(1, len(reconnected))
        self.assertNotIn(("u-a", "Stopped"), [(e.uuid, e.get_name()) for e in self.emitted])
        self.assertEqual("running", self.engine.get("u-a").status)

    def test_stop_ends_the_thread(self):
        self.watcher.stop()
        self.assertFalse(self.watcher.alive)
