#!/usr/bin/env python3
"""Benchmark: ``server create`` to the first ssh login with the server's keypair, for
a container and for a VM of the lab, from the box through floating IPs (issue 14).

For each kind (container: flavor hh.container, image hh-busybox; VM: hh.vm, hh-guest)
and each of --count servers (5 by default), one at a time: create the server on the
demo network with a keypair and a security group letting ssh in (both made for the
run), give its port a floating IP on ``hh-public`` as soon as neutron has the port,
then probe TCP port 22 of the floating IP every 0.2 s (0.5 s connect timeout) and, once
it accepts, run ``ssh -i <key> root@<floating ip> true``; the figure is from the create
call to the first login that succeeds. Prints each login and per kind the median, min
and max; with --json one object. Every server, floating IP, keypair and group it made
is deleted. Needs the lab up with its external network ``hh-public`` (``[lab]
l3_agent``), root, and to run on the box::

    PYTHONPATH=. /opt/hybridhost/venv/bin/python bench/ssh_login.py [--count 5] \\
        [--kinds container,vm] [--config-file /etc/hybridhost/hybridhost.conf] [--json]
"""

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from hybridhost.lab import demo
from tests.e2e import lab as e2e

PUBLIC_NETWORK = "hh-public"
KINDS = {"container": ("hh.container", demo.CONTAINER_IMAGE), "vm": ("hh.vm", demo.GUEST_IMAGE)}
LOGIN_TIMEOUT = 300
POLL = 0.2


def _keypair(conn, directory, name):
    key = "%s/%s" % (directory, name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    with open(key + ".pub") as handle:
        return key, conn.compute.create_keypair(name=name, public_key=handle.read().strip())


def _ssh_group(conn, name):
    group = conn.network.create_security_group(name=name, description="bench: ssh")
    conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ethertype="IPv4", protocol="tcp",
        port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0")
    return group


def _port_of(conn, server, deadline):
    while time.monotonic() < deadline:
        ports = list(conn.network.ports(device_id=server.id))
        if ports:
            return ports[0]
        time.sleep(POLL)
    raise TimeoutError("server %s got no port" % server.id)


def _accepts(address):
    try:
        socket.create_connection((address, 22), timeout=0.5).close()
    except OSError:
        return False
    return True


def _logs_in(key, address):
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o",
         "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
         "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
         "root@%s" % address, "true"], capture_output=True, timeout=30,
        check=False).returncode == 0


def _wait_login(key, address, deadline):
    while time.monotonic() < deadline:
        if _accepts(address) and _logs_in(key, address):
            return time.monotonic()
        time.sleep(POLL)
    raise TimeoutError("no ssh login into %s within %ss" % (address, LOGIN_TIMEOUT))


def one_login(conn, prepared, kind, public):
    """Seconds from ``server create`` to the first ssh login; deletes what it made."""
    made = []
    try:
        started = time.monotonic()
        server = conn.compute.create_server(
            name="hh-bench-ssh-%s-%s" % (kind, uuid.uuid4().hex[:6]),
            flavor_id=prepared["flavors"][kind], image_id=prepared["images"][kind],
            networks=[{"uuid": prepared["network"]}], key_name=prepared["keypair"].name,
            security_groups=[{"name": "default"}, {"name": prepared["group"].id}])
        made.append(server)
        deadline = started + LOGIN_TIMEOUT
        port = _port_of(conn, server, deadline)
        floating = conn.network.create_ip(floating_network_id=public.id, port_id=port.id)
        made.append(floating)
        return _wait_login(prepared["key"], floating.floating_ip_address, deadline) - started
    finally:
        for thing in reversed(made):
            if thing.__class__.__name__ == "FloatingIP":
                conn.network.delete_ip(thing, ignore_missing=True)
            else:
                conn.compute.delete_server(thing, ignore_missing=True)
                conn.compute.wait_for_delete(thing, wait=180)


def _prepare(conn, directory):
    tag = uuid.uuid4().hex[:6]
    key, keypair = _keypair(conn, directory, "hh-bench-ssh-%s" % tag)
    return {"key": key, "keypair": keypair, "group": _ssh_group(conn, "hh-bench-ssh-%s" % tag),
            "network": conn.network.find_network(demo.NETWORK).id,
            "flavors": {k: conn.compute.find_flavor(f).id for k, (f, _) in KINDS.items()},
            "images": {k: conn.image.find_image(i).id for k, (_, i) in KINDS.items()}}


def _summary(samples):
    return {"samples": [round(s, 2) for s in samples],
            "median": round(statistics.median(samples), 2),
            "min": round(min(samples), 2), "max": round(max(samples), 2)}


def run(conn, kinds, count, report):
    public = conn.network.find_network(PUBLIC_NETWORK)
    if public is None:
        raise SystemExit("no external network %s: the lab has no floating IPs ([lab] "
                         "l3_agent, then 'hybridhost lab up')" % PUBLIC_NETWORK)
    with tempfile.TemporaryDirectory() as directory:
        prepared = _prepare(conn, directory)
        try:
            results = {}
            for kind in kinds:
                samples = []
                for index in range(count):
                    samples.append(one_login(conn, prepared, kind, public))
                    report("%s %d/%d: first ssh login %.2f s after server create"
                           % (kind, index + 1, count, samples[-1]))
                results[kind] = _summary(samples)
            return results
        finally:
            conn.compute.delete_keypair(prepared["keypair"], ignore_missing=True)
            conn.network.delete_security_group(prepared["group"], ignore_missing=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--kinds", default="container,vm")
    parser.add_argument("--config-file", default=e2e.CONFIG)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    if args.count < 1 or not set(kinds) <= set(KINDS):
        parser.error("--count must be >= 1 and --kinds a list of %s" % ", ".join(KINDS))
    reason = e2e.why_not_up(args.config_file)
    if reason:
        raise SystemExit(reason)
    lab = e2e.connect(args.config_file)
    report = (lambda line: print(line, file=sys.stderr)) if args.json else print
    results = run(lab.conn, kinds, args.count, report)
    if args.json:
        print(json.dumps(results, indent=2, sort_keys=True))
        return
    for kind, summary in results.items():
        print("%-9s server create -> first ssh login: median %.2f s (min %.2f, max %.2f; "
              "n=%d)" % (kind, summary["median"], summary["min"], summary["max"],
                         len(summary["samples"])))


if __name__ == "__main__":
    main()
