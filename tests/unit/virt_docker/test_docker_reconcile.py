"""The VIF reconciler's scheduling: kicks, periodic scans, retries with backoff."""

import threading
import time
import unittest

from hybridhost.virt.docker import reconcile


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Instances:
    """What the driver gives the reconciler: running uuids and a repair that may fail."""

    def __init__(self, running=()):
        self.running = list(running)
        self.broken = {}  # uuid -> failures left
        self.repaired = []
        self.list_error = None

    def list_running(self):
        if self.list_error:
            raise self.list_error
        return list(self.running)

    def repair(self, uuid):
        if self.broken.get(uuid):
            self.broken[uuid] -= 1
            raise RuntimeError("OVSDB refused %s" % uuid)
        self.repaired.append(uuid)
        return True


class BackoffTest(unittest.TestCase):

    def test_the_delay_doubles_up_to_the_maximum_and_a_success_resets_it(self):
        backoff = reconcile.Backoff(1.0, 10.0)
        self.assertEqual([1.0, 2.0, 4.0, 8.0, 10.0, 10.0],
                         [backoff.failed("u", 0.0) for _ in range(6)])
        self.assertTrue(backoff.waiting("u", 9.9))
        self.assertEqual(["u"], backoff.due(10.0))
        backoff.succeeded("u")
        self.assertEqual((0, []), (backoff.failures("u"), backoff.due(1000.0)))
        self.assertEqual(1.0, backoff.failed("u", 0.0))


class RunOnceTest(unittest.TestCase):

    def setUp(self):
        self.clock = Clock()
        self.instances = Instances(running=["a", "b"])
        self.reconciler = reconcile.Reconciler(
            self.instances.list_running, self.instances.repair, interval=5.0,
            backoff_min=1.0, backoff_max=8.0, clock=self.clock)

    def test_every_running_instance_is_checked_each_interval(self):
        self.assertEqual(["a", "b"], self.reconciler.run_once())
        self.clock.now += 4.9
        self.assertEqual([], self.reconciler.run_once())
        self.clock.now += 0.1
        self.assertEqual(["a", "b"], self.reconciler.run_once())

    def test_the_scan_repairs_only_what_the_screen_finds_broken_kicks_always(self):
        screened = []

        def screen(uuids):
            screened.append(list(uuids))
            return [u for u in uuids if u == "b"]

        self.reconciler.screen = screen
        self.assertEqual(["b"], self.reconciler.run_once())
        self.reconciler.kick("a")
        self.assertEqual(["a"], self.reconciler.run_once())
        self.assertEqual([["a", "b"]], screened)

    def test_a_screen_that_fails_means_every_scanned_instance_is_repaired(self):
        def screen(uuids):
            raise OSError("netlink said no")

        self.reconciler.screen = screen
        self.assertEqual(["a", "b"], self.reconciler.run_once())

    def test_a_kicked_instance_is_checked_at_once_and_once(self):
        self.reconciler.run_once()
        self.reconciler.kick("a")
        self.reconciler.kick("a")
        self.assertEqual(["a"], self.reconciler.run_once())
        self.assertEqual([], self.reconciler.run_once())

    def test_a_failed_repair_is_retried_with_backoff_until_it_works(self):
        self.instances.broken["a"] = 3
        self.assertEqual(["b"], self.reconciler.run_once())
        attempts = []
        for step in (0.5, 0.5, 1.0, 1.0, 2.0, 2.0):
            self.clock.now += step
            self.instances.repaired.clear()
            self.reconciler.run_once()
            attempts.append("a" in self.instances.repaired or self.instances.broken["a"])
        # failures at t=0, 1, 3 (delays 1, 2, 4; the scan at t=5 leaves it waiting);
        # the repair works at t=7
        self.assertEqual([2, 1, 1, 0, 0, True], attempts)
        self.assertEqual(0, self.reconciler.backoff.failures("a"))

    def test_a_kick_retries_at_once_even_while_backing_off(self):
        self.instances.broken["a"] = 1
        self.reconciler.run_once()
        self.reconciler.kick("a")
        self.assertEqual(["a"], self.reconciler.run_once())

    def test_a_failure_reported_from_outside_is_retried(self):
        self.reconciler.run_once()
        self.reconciler.failed("c", RuntimeError("at start-up"))
        self.assertEqual([], self.reconciler.run_once())
        self.clock.now += 1.0
        self.assertEqual(["c"], self.reconciler.run_once())

    def test_an_instance_no_longer_running_is_forgotten(self):
        self.instances.broken["a"] = 100
        self.reconciler.run_once()
        self.instances.running = ["b"]
        self.clock.now += 5.0
        self.reconciler.run_once()
        self.assertEqual(0, self.reconciler.backoff.failures("a"))

    def test_an_engine_that_cannot_list_skips_the_scan_only(self):
        self.instances.list_error = RuntimeError("dockerd restarting")
        self.reconciler.kick("a")
        self.assertEqual(["a"], self.reconciler.run_once())


class ThreadTest(unittest.TestCase):

    def test_a_kick_is_repaired_promptly_and_stop_ends_the_thread(self):
        instances = Instances()
        repaired = threading.Event()

        def repair(uuid):
            instances.repair(uuid)
            repaired.set()

        reconciler = reconcile.Reconciler(instances.list_running, repair, interval=60.0)
        reconciler.start()
        self.addCleanup(reconciler.stop)
        time.sleep(0.1)  # past the first scan: only the kick can wake it now
        start = time.monotonic()
        reconciler.kick("a")
        self.assertTrue(repaired.wait(2.0))
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertEqual(["a"], instances.repaired)
        reconciler.stop()
        self.assertFalse(reconciler.alive)

    def test_a_repair_that_raises_does_not_end_the_thread(self):
        instances = Instances(running=["a"])
        instances.broken["a"] = 1
        reconciler = reconcile.Reconciler(instances.list_running, instances.repair,
                                          interval=60.0, backoff_min=0.05)
        reconciler.start()
        self.addCleanup(reconciler.stop)
        deadline = time.monotonic() + 3.0
        while "a" not in instances.repaired and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(["a"], instances.repaired)
        self.assertTrue(reconciler.alive)
