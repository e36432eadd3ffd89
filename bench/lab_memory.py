#!/usr/bin/env python3
"""Benchmark: resident memory of the whole lab, idle and with one VM + one container.

Counts every process of the box's supervisord (each program with all its children:
workers, privsep daemons, dnsmasq, ...) plus what runs the instances (containerd shims
and the containers' processes, QEMU). Two sums are printed for each state:
  RSS - per-process resident set summed (pages shared between processes, such as a
        forked worker's copy-on-write memory, count once per process: pessimistic);
  PSS - proportional set size summed (shared pages split between their sharers: the
        memory the lab really occupies).
Both are compared with the 4 GB (4.0e9 bytes) target; the biggest programs are listed.

    PYTHONPATH=. /opt/hybridhost/venv/bin/python bench/lab_memory.py [--with-instances] \
        [--settle 20] [--config-file /etc/hybridhost/hybridhost.conf] [--json]

--with-instances boots one hh.container and one hh.vm (the demo content), waits until
both are ACTIVE and --settle seconds more, measures, and deletes them.
"""

import argparse
import collections
import itertools
import json
import os
import sys
import time

import psutil

from hybridhost import exception
from hybridhost import plan as box_plan
from hybridhost import supervisor_rpc
from hybridhost.lab import demo
from hybridhost.render import supervisor as box_supervisor
from tests.e2e import lab as e2e

TARGET_BYTES = 4.0e9
INSTANCE_PROCESS_NAMES = ("containerd-shim", "containerd-shim-runc-v2", "qemu-system-x86_64")
PRIVSEP_HELPER = "privsep-helper"
GIB = 2 ** 30


def _memory(process):
    try:
        info = process.memory_full_info()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return info.rss, info.pss


def _tree(process):
    try:
        return [process] + process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _privsep_owner(argv):
    """privsep daemons by the configuration of the service that started them."""
    files = [value for flag, value in itertools.pairwise(argv) if flag == "--config-file"]
    return "privsep daemons of %s" % (os.path.basename(files[0]) if files else "?")


def owners(conf):
    """``{pid: owner}``: each supervised program's process tree, then the instances'."""
    client = supervisor_rpc.SupervisorClient(box_supervisor.socket_path(conf))
    config_dir = box_plan.build(conf).config_dir
    owned = {client.pid(): "supervisord"}
    for program in client.programs():
        if program.pid:
            for process in _tree(psutil.Process(program.pid)):
                owned.setdefault(process.pid, program.name)
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.pid in owned:
            continue
        argv = process.info["cmdline"] or []
        # privsep daemons detach from the program that started them (their parent is 1).
        if any(arg.endswith(PRIVSEP_HELPER) for arg in argv[:2]) and any(
                arg.startswith(config_dir) for arg in argv):
            owned[process.pid] = _privsep_owner(argv)
        elif process.info["name"] in INSTANCE_PROCESS_NAMES:
            kind = "qemu (VM)" if process.info["name"].startswith("qemu") else "container"
            for member in _tree(process):
                owned.setdefault(member.pid, "instance: %s" % kind)
    return owned


def measure(conf):
    rss, pss, count = collections.Counter(), collections.Counter(), collections.Counter()
    for pid, owner in owners(conf).items():
        try:
            sample = _memory(psutil.Process(pid))
        except psutil.NoSuchProcess:
            sample = None
        if sample is None:
            continue
        rss[owner] += sample[0]
        pss[owner] += sample[1]
        count[owner] += 1
    return {"rss_bytes": sum(rss.values()), "pss_bytes": sum(pss.values()),
            "processes": sum(count.values()),
            "programs": [{"name": name, "processes": count[name], "rss_bytes": rss[name],
                          "pss_bytes": pss[name]} for name, _ in rss.most_common()]}


def boot_pair(lab):
    network = lab.conn.network.find_network(demo.NETWORK)
    servers = []
    for name, flavor, image in (("hh-mem-container", "hh.container", demo.CONTAINER_IMAGE),
                                ("hh-mem-vm", "hh.vm", demo.GUEST_IMAGE)):
        servers.append(lab.conn.compute.create_server(
            name=name, flavor_id=lab.conn.compute.find_flavor(flavor).id,
            image_id=lab.conn.image.find_image(image).id,
            networks=[{"uuid": network.id}]))
    try:
        return [e2e.wait_active(lab.conn, server, interval=1) for server in servers]
    except (AssertionError, exception.DependencyNotReady):
        delete(lab, servers)
        raise


def delete(lab, servers):
    for server in servers:
        lab.conn.compute.delete_server(server, ignore_missing=True)
    for server in servers:
        lab.conn.compute.wait_for_delete(server, wait=180)


def _line(label, sample):
    return "%-26s RSS %5.2f GiB (%4.2f GB, %3.0f%% of 4 GB)  PSS %5.2f GiB  %d processes" % (
        label, sample["rss_bytes"] / GIB, sample["rss_bytes"] / 1e9,
        100 * sample["rss_bytes"] / TARGET_BYTES, sample["pss_bytes"] / GIB,
        sample["processes"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--with-instances", action="store_true",
                        help="also measure with one container and one VM running")
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds to wait after both are ACTIVE before measuring")
    parser.add_argument("--top", type=int, default=8, help="programs listed per state")
    parser.add_argument("--config-file", default=e2e.CONFIG)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    reason = e2e.why_not_up(args.config_file)
    if reason:
        print("bench/lab_memory.py: %s" % reason, file=sys.stderr)
        return 2
    lab = e2e.connect(args.config_file)
    states = {"idle": measure(lab.conf)}
    if args.with_instances:
        servers = boot_pair(lab)
        try:
            time.sleep(args.settle)
            states["1 VM + 1 container"] = measure(lab.conf)
        finally:
            delete(lab, servers)
    result = {"target_bytes": TARGET_BYTES, "states": states,
              "target_met": all(s["rss_bytes"] <= TARGET_BYTES for s in states.values())}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for label, sample in states.items():
        print(_line(label, sample))
        for program in sample["programs"][:args.top]:
            print("    %-28s %3d proc  RSS %6.0f MiB  PSS %6.0f MiB" % (
                program["name"], program["processes"], program["rss_bytes"] / 2 ** 20,
                program["pss_bytes"] / 2 ** 20))
    print("target whole lab <= 4 GB RSS: %s" % ("met" if result["target_met"] else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
