#!/usr/bin/env python3
"""Benchmark: many containers and a few VMs on one network through nova, on the lab.

From one process (openstacksdk), ``--concurrency`` boots at a time:
  1. checks the lab can hold the run (placement on each side, the project's quotas,
     the subnet's free addresses) and says why not before creating anything;
  2. boots ``--vms`` hh.vm VMs of the demo guest (hh-guest: its probe pings every
     address of its /24 in rounds and prints ``HYBRIDHOST-PING <ip> ok`` on its
     console for each one that answers), waits until they are ACTIVE, then until
     their first, fast probe rounds are over (under TCG each VM takes about a third
     of a core while they last; at most ``--vm-settle`` s): the boots below are
     measured beside idle VMs, whose QEMU CPU is reported as its own line;
  3. boots ``--containers`` hh.container.tiny containers running ``sleep``: a private
     copy of the demo image (hh-bench-sleep, as bench/boot.py; deleted at the end),
     because the demo init's own /24 ping sweep would load the box's CPUs (the kernel
     still answers pings). Each boot is timed from its create call to ACTIVE as
     bench/boot.py observes it (nova's build event through the instance-actions API,
     polled every ``--poll`` s), and to nova-compute's log saying it saved ACTIVE;
  4. checks that every container reaches both VMs and two other containers (chosen
     with ``--seed``), pinged from the container's network namespace, and that each
     VM's console says it reached every container (waiting up to ``--vm-wait`` s for
     its next probe rounds);
  5. deletes everything, ``--concurrency`` at a time, and shows nothing is left:
     servers, neutron ports, the glance image and Docker's copy, the Docker side's
     containers, veths and taps, OVS rows, libvirt domains (this run's only: other
     work may share the lab).
All along, the integration bridge is sampled every second through ovsdbapp; every port
seen on VLAN 4095 is reported (its name, instance, when and for how long).

Prints create -> ACTIVE p50/p95 of the containers launched 1-10, 11-50 and 51-100
and overall, p95(51-100) / p95(1-10) against the target 1.5 (the last bucket there is
when fewer), the throughput (containers ACTIVE per minute from the first create to the
last ACTIVE), CPU seconds per container boot of each supervised program group (psutil,
before and after the boot phase, over N; privsep daemons counted with their program;
also each one's idle rate, measured for ``--idle`` s just before, and what a boot
costs beyond it), memory per container (how much the host's used memory grew, over N,
and Docker's median for one container), and where a boot's time went (bench/boot.py's
stages, from the services' logs).

Timings are figures, never pass or fail: the exit status is 0 when every server went
ACTIVE, every reachability check passed, no port was seen on VLAN 4095 and nothing was
left; 1 otherwise; 2 when the lab is not up or cannot hold the run. Other work on the
box counts in every figure. Needs root on the box (namespaces, OVSDB, Docker).

    PYTHONPATH=. /opt/hybridhost/venv/bin/python bench/density.py [--containers 100] \\
        [--vms 2] [--concurrency 4] [--seed N] [--poll 1.0] [--vm-wait 150] \\
        [--idle 10] [--vm-settle 240] [--json]
"""

import argparse
import dataclasses
import json
import sys
import threading
import time

from bench import boot
from bench import density_box as box
from bench import density_nova as nova
from bench import density_report as report
from bench import density_stats as stats
from bench import lab_session
from hybridhost import progress as hh_progress
from tests.e2e import lab as e2e

LEFTOVER_GRACE_S = 30
NAME_PREFIX = "hh-density"


@dataclasses.dataclass
class Run:
    """What one run booted and measured."""

    vms: list
    containers: list
    concurrency: int = 1
    image: object = None
    port_ids: list = dataclasses.field(default_factory=list)
    cpu: dict = dataclasses.field(default_factory=dict)
    used_memory: dict = dataclasses.field(default_factory=dict)
    container_memory: tuple = (None, 0)
    reach: dict = dataclasses.field(default_factory=dict)
    cleanup_errors: list = dataclasses.field(default_factory=list)
    leftovers: dict = dataclasses.field(default_factory=dict)

    @property
    def servers(self):
        return [r.server for r in self.vms + self.containers if r.server is not None]


class Tally:
    """The ``done`` callback of a boot phase: a progress line as boots end (at most one
    a second, and the last), and one for each failure."""

    def __init__(self, progress, what, total):
        self._progress, self._what, self._total = progress, what, total
        self._lock = threading.Lock()
        self._active = self._failed = 0
        self._last = 0.0

    def __call__(self, record):
        with self._lock:
            if record.error:
                self._failed += 1
                self._progress("%s %s failed: %s" % (self._what, record.name, record.error))
            else:
                self._active += 1
            ended = self._active + self._failed
            if ended == self._total or time.monotonic() - self._last >= 1.0:
                self._last = time.monotonic()
                self._progress("%d/%d %s ACTIVE%s" % (
                    self._active, self._total, self._what,
                    ", %d failed" % self._failed if self._failed else ""))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--containers", type=int, default=100,
                        help="hh.container.tiny containers to boot (default 100)")
    parser.add_argument("--vms", type=int, default=2, help="hh.vm VMs to boot (default 2)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="boots (and deletes) in flight at once (default 4)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the choice of each container's two peers")
    parser.add_argument("--poll", type=float, default=1.0,
                        help="seconds between two reads of a boot's instance action "
                             "(default 1.0; each read costs nova-api ~20 ms of CPU)")
    parser.add_argument("--vm-wait", type=float, default=150.0,
                        help="seconds to wait for the VMs' consoles to list every "
                             "container (their probe rounds are 60 s apart; default 150)")
    parser.add_argument("--idle", type=float, default=10.0,
                        help="seconds to measure the programs' idle CPU before the boots "
                             "(0: do not; default 10)")
    parser.add_argument("--vm-settle", type=float, default=240.0,
                        help="seconds to wait at most, after the VMs are ACTIVE, for "
                             "their fast probe rounds to end (0: do not wait; default 240)")
    parser.add_argument("--config-file", default=e2e.CONFIG)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.containers < 1 or args.vms < 0 or args.concurrency < 1 or args.poll <= 0 \
            or args.idle < 0 or args.vm_settle < 0:
        parser.error("--containers and --concurrency must be at least 1, --vms and --idle "
                     "at least 0, --poll above 0")
    return args


# --- the phases -------------------------------------------------------------------


def boot_vms(lab, args, targets, run, progress):
    if not run.vms:
        return
    progress("booting %d %s VMs (%s)" % (len(run.vms), targets.vm_flavor.name,
                                        targets.guest_image.name))
    nova.launch_all(lab, run.vms, (targets.vm_flavor, targets.guest_image, targets.network),
                    min(args.concurrency, len(run.vms)), args.poll,
                    Tally(progress, "VMs", len(run.vms)))
    if args.vm_settle > 0:
        progress("waiting for the VMs' fast probe rounds to end (at most %.0fs)"
                 % args.vm_settle)
        settled, waited, share = box.settle_vms(_vm_ids(run), args.vm_settle)
        progress("VMs %s after %.0fs: %.1f%% of a core each" % (
            "settled" if settled else "still busy", waited, 100 * share))


def _vm_ids(run):
    return [r.server_id for r in run.vms if r.error is None and r.server is not None]


def boot_containers(lab, args, targets, run, progress):
    progress("booting %d %s containers, %d at a time" % (
        len(run.containers), targets.container_flavor.name, args.concurrency))
    if args.idle > 0:
        progress("measuring the programs' idle CPU for %.0fs first" % args.idle)
        run.cpu["idle_from"] = box.cpu_seconds(lab.conf, _vm_ids(run))
        started = time.monotonic()
        time.sleep(args.idle)
        run.cpu["idle_s"] = time.monotonic() - started
    run.cpu["before"] = box.cpu_seconds(lab.conf, _vm_ids(run))
    run.used_memory["before"] = box.used_memory()
    started = time.monotonic()
    nova.launch_all(lab, run.containers,
                    (targets.container_flavor, run.image, targets.network),
                    args.concurrency, args.poll,
                    Tally(progress, "containers", len(run.containers)))
    run.cpu["after"] = box.cpu_seconds(lab.conf, _vm_ids(run))
    run.used_memory["after"] = box.used_memory()
    run.cpu["phase_s"] = time.monotonic() - started
    up = [r.server_id for r in run.containers if r.error is None]
    run.container_memory = box.container_memory_median(lab.docker(), up)
    run.port_ids = nova.ports_of(lab, targets.network,
                                 [r.server_id for r in run.vms + run.containers if r.server])


def check_reach(lab, args, run, progress):
    up = [r for r in run.containers if r.error is None]
    vms = [r for r in run.vms if r.error is None]
    progress("pinging both VMs and two peers from each of %d containers" % len(up))
    failures = nova.containers_reach(lab, up, [r.ip for r in vms],
                                     stats.two_peers(len(up), args.seed),
                                     max(4, args.concurrency))
    progress("%d/%d containers reached every address they tried" % (
        len(up) - len(failures), len(up)))
    progress("reading the VMs' consoles for the %d containers' addresses" % len(up))
    missing = nova.vms_reach(lab, vms, [r.ip for r in up], args.vm_wait, progress)
    run.reach = {"containers_checked": len(up), "container_failures": failures,
                 "vms_missing": missing}


def clean_up(lab, targets, run, progress):
    servers = run.servers
    progress("deleting %d servers, %d at a time" % (len(servers), run.concurrency))
    run.cleanup_errors = nova.delete_all(lab, servers, run.concurrency)
    if run.image is not None:
        run.cleanup_errors += nova.forget_image(lab, run.image)
    run.leftovers = leftovers(lab, targets, run)
    left = sum(len(things) for things in run.leftovers.values())
    progress("nothing left" if not left else "%d things left" % left)


def leftovers(lab, targets, run):
    """What this run left, re-read for LEFTOVER_GRACE_S while anything is."""
    server_ids = [r.server_id for r in run.vms + run.containers if r.server is not None]
    image_id = run.image.id if run.image is not None else None
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    while True:
        found = nova.cloud_leftovers(lab, targets.network, server_ids, run.port_ids, image_id)
        found.update(box.box_leftovers(lab, server_ids, run.port_ids))
        if not any(found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(2)


def execute(lab, args, targets, progress):
    """Run the phases; delete everything whatever happens. The :class:`Run`."""
    run = Run(vms=[nova.Boot(i, "vm", "%s-vm-%d" % (NAME_PREFIX, i))
                   for i in range(1, args.vms + 1)],
              containers=[nova.Boot(i, "container", "%s-c-%d" % (NAME_PREFIX, i))
                          for i in range(1, args.containers + 1)],
              concurrency=args.concurrency)
    sampler = box.BridgeSampler(lab.conf, lambda: progress.elapsed).start()
    try:
        progress("creating the image %s (the demo image running sleep)" % boot.BENCH_IMAGE)
        run.image = boot.bench_image(lab)
        boot_vms(lab, args, targets, run, progress)
        boot_containers(lab, args, targets, run, progress)
        check_reach(lab, args, run, progress)
    finally:
        try:
            clean_up(lab, targets, run, progress)
        finally:
            sampler.stop()
    return run, sampler


def main(argv=None):
    args = parse_args(argv)
    opened = lab_session.open_lab("density.py", args.config_file)
    if opened is None:
        return 2
    lab, targets = opened
    progress = hh_progress.Progress(hh_progress.printer(sys.stderr))
    problems, room = nova.capacity(lab, targets, args.vms, args.containers)
    progress("room: %s" % ", ".join("%s %d" % item for item in room.items()))
    if problems:
        lab_session.complain("density.py", "the lab cannot hold %d containers + %d VMs: %s" % (
            args.containers, args.vms, "; ".join(problems)))
        if args.json:
            print(json.dumps({"ok": False, "room_before": room, "refused": problems}))
        return 2
    run, sampler = execute(lab, args, targets, progress)
    result = report.figures(lab, args, run, sampler, room)
    print(json.dumps(result, indent=2) if args.json else "\n".join(report.lines(result)))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
