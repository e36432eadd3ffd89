#!/usr/bin/env python3
"""Benchmark: container VIF plug/unplug three ways, and spawn-to-running, in one run.

(a) driver  - hybridhost's own path: VifPlugger -> privsep daemon (hybridhost.privileged.net,
              one entrypoint call per VIF) + OvsPorts (one OVSDB transaction per VIF);
(b) floor   - the same kernel and OVSDB steps made directly with pyroute2 in this process
              (persistent host netlink socket, one in-netns socket per VIF) and one ovsdbapp
              transaction per VIF; nothing else;
(c) shell   - the way nova-docker did it: `ip` and `ovs-vsctl` subprocesses per step
              (`nsenter --net` stands in for its `ln -s /proc/<pid>/ns/net` + `ip netns exec`).

Then spawn-to-running for a cached image: DockerDriver.spawn with one VIF versus the raw
engine API (`docker run -d --network none`: create + start) followed by the floor plug.

Needs root, dockerd, OVSDB and busybox-static. Run from the repo root:
    PYTHONPATH=. /opt/hybridhost/venv/bin/python bench/vif_plug.py [--vifs 60] [--spawns 15]
Prints medians (ms) and ratios; asserts nothing.
"""

import argparse
import contextlib
import ipaddress
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib

import docker
from pyroute2 import IPRoute
from pyroute2 import netns as pr_netns

from hybridhost.virt.docker import ovs
from hybridhost.virt.docker import vifs
from tests.contract import tarballs

OVSDB = "unix:/var/run/openvswitch/db.sock"
DOCKER_URL = "unix:///var/run/docker.sock"
OWNER = "hh-bench"
LABEL = {"hybridhost.bench": "1", "nova.host": OWNER}
VENV_BIN = os.path.dirname(sys.executable)


def median_ms(samples):
    return statistics.median(samples) * 1000.0


def timed(func, *args):
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


# --- fixtures ------------------------------------------------------------------------------


def make_bridge(api, name):
    for _attempt in range(10):
        api.add_br(name, datapath_type="netdev").execute(check_error=True)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            row = next((r for r in api.tables["Interface"].rows.values() if r.name == name), None)
            if row is not None and row.ofport and row.ofport[0] > 0:
                return
            time.sleep(0.05)
        api.del_br(name, if_exists=True).execute(check_error=True)
        time.sleep(0.5)
    raise RuntimeError("could not create bridge %s" % name)


def load_image(client, workdir):
    path = os.path.join(workdir, "bench.tar")
    image_id = tarballs.write_tarball(path, tarballs.busybox_layer())
    with open(path, "rb") as fileobj:
        list(client.load_image(fileobj))
    return image_id


def start_containers(client, image_id, count):
    containers = []
    for _ in range(count):
        host_config = client.create_host_config(
            network_mode="none", sysctls={"net.ipv6.conf.all.disable_ipv6": "0"})
        created = client.create_container(image_id, labels=LABEL, host_config=host_config)
        client.start(created["Id"])
        attrs = client.inspect_container(created["Id"])
        containers.append((created["Id"], attrs["State"]["Pid"],
                           attrs["NetworkSettings"]["SandboxKey"]))
    return containers


def make_specs(containers, per_container, bridge, prefix, first_index=0, by_sandbox=False):
    """``(container id, where to plug: its sandbox path (the driver's privileged helpers
    take no pid) or its pid, spec)`` for each VIF."""
    specs = []
    for index in range(first_index, first_index + per_container):
        for cid, pid, sandbox in containers:
            port = str(uuidlib.uuid4())
            n = len(specs) + first_index * len(containers)
            ip = ipaddress.ip_address("10.90.0.10") + n
            mac = "fa:16:3e:%02x:%02x:%02x" % (n >> 16, (n >> 8) & 255, n & 255)
            routes = (("0.0.0.0/0", "10.90.0.1"),) if index == first_index else ()
            spec = vifs.VifSpec(port_id=port, mac=mac, host_ifname=(prefix + port)[:14],
                                ifname="eth%d" % index, bridge=bridge, mtu=1450,
                                addresses=("%s/16" % ip,), routes=routes)
            specs.append((cid, sandbox if by_sandbox else pid, spec))
    return specs


# --- (b) the floor -----------------------------------------------------------------------------


class Floor:
    def __init__(self, api):
        self.api = api
        self.ipr = IPRoute()

    @staticmethod
    def _ns_socket(pid):
        box = []

        def enter():
            fd = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY)
            pr_netns.setns(fd, fork=False)
            os.close(fd)
            box.append(socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 0))

        worker = threading.Thread(target=enter)
        worker.start()
        worker.join()
        return box[0]

    def plug(self, uuid, pid, spec):
        self.ipr.link("add", ifname=spec.host_ifname, kind="veth", mtu=spec.mtu,
                      peer={"ifname": spec.ifname, "address": spec.mac, "mtu": spec.mtu,
                            "net_ns_pid": pid})
        self.ipr.link("set", index=self.ipr.link_lookup(ifname=spec.host_ifname)[0], state="up")
        with IPRoute(use_socket=self._ns_socket(pid)) as ns:
            index = ns.link_lookup(ifname=spec.ifname)[0]
            for cidr in spec.addresses:
                iface = ipaddress.ip_interface(cidr)
                ns.addr("add", index=index, address=str(iface.ip),
                        prefixlen=iface.network.prefixlen)
            ns.link("set", index=index, state="up")
            ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
            for dst, gateway in spec.routes:
                ns.route("replace", dst=dst, gateway=gateway, oif=index)
        with self.api.transaction(check_error=True) as txn:
            external_ids = {"iface-id": spec.port_id, "iface-status": "active",
                            "attached-mac": spec.mac, "vm-uuid": uuid, ovs.OWNER_KEY: OWNER}
            txn.add(self.api.add_port(spec.bridge, spec.host_ifname, may_exist=False,
                                      mtu_request=spec.mtu, external_ids=external_ids))

    def unplug(self, spec):
        with self.api.transaction(check_error=True) as txn:
            txn.add(self.api.del_port(spec.host_ifname, if_exists=True))
        self.ipr.link("del", index=self.ipr.link_lookup(ifname=spec.host_ifname)[0])


# --- (c) nova-docker's way ----------------------------------------------------------------------


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Shell:
    def plug(self, uuid, pid, spec):
        tmp_peer = "ns" + spec.port_id[:11]
        run("ip", "link", "add", "name", spec.host_ifname, "type", "veth", "peer", "name", tmp_peer)
        run("ip", "link", "set", spec.host_ifname, "mtu", str(spec.mtu))
        run("ovs-vsctl", "--timeout=120", "--", "--if-exists", "del-port", spec.host_ifname, "--",
            "add-port", spec.bridge, spec.host_ifname, "--", "set", "Interface", spec.host_ifname,
            "external-ids:iface-id=%s" % spec.port_id, "external-ids:iface-status=active",
            "external-ids:attached-mac=%s" % spec.mac, "external-ids:vm-uuid=%s" % uuid,
            "external-ids:%s=%s" % (ovs.OWNER_KEY, OWNER))
        run("ip", "link", "set", spec.host_ifname, "up")
        run("ip", "link", "set", tmp_peer, "netns", str(pid))
        inside = ("nsenter", "--net=/proc/%d/ns/net" % pid)
        run(*inside, "ip", "link", "set", tmp_peer, "name", spec.ifname)
        run(*inside, "ip", "link", "set", spec.ifname, "address", spec.mac)
        run(*inside, "ip", "link", "set", spec.ifname, "mtu", str(spec.mtu))
        for cidr in spec.addresses:
            run(*inside, "ip", "addr", "add", cidr, "dev", spec.ifname)
        run(*inside, "ip", "link", "set", spec.ifname, "up")
        run(*inside, "ip", "link", "set", "lo", "up")
        for dst, gateway in spec.routes:
            run(*inside, "ip", "route", "replace", "default" if dst == "0.0.0.0/0" else dst,
                "via", gateway, "dev", spec.ifname)

    def unplug(self, spec):
        run("ovs-vsctl", "--timeout=120", "--if-exists", "del-port", spec.bridge, spec.host_ifname)
        run("ip", "link", "del", spec.host_ifname)


# --- runs ---------------------------------------------------------------------------------------


def measure(methods):
    """Plug, then unplug, one VIF per method in turn, so drift hits every method alike."""
    plug = {name: [] for name in methods}
    unplug = {name: [] for name in methods}
    count = len(next(iter(methods.values()))[1])
    for i in range(count):
        for name, (method, specs) in methods.items():
            _cid, target, spec = specs[i]
            plug[name].append(timed(method.plug, "u-" + spec.port_id[:8], target, spec))
    for i in range(count):
        for name, (method, specs) in methods.items():
            unplug[name].append(timed(method.unplug, specs[i][2]))
    return {name: (median_ms(plug[name]), median_ms(unplug[name])) for name in methods}


def configure_privsep():
    import nova.conf

    from hybridhost.virt.docker import conf as docker_conf  # noqa: F401  registers the group

    conf = nova.conf.CONF
    conf([], project="nova", default_config_files=[])
    import hybridhost.privileged  # noqa: F401  registers [hybridhost_docker_privileged]

    conf.set_override("helper_command", os.path.join(VENV_BIN, "privsep-helper"),
                      group="hybridhost_docker_privileged")
    return conf


class NoWaitVirtAPI:
    @contextlib.contextmanager
    def wait_for_instance_event(self, instance, event_names, timeout=300, error_callback=None):
        yield


def _bench_driver(conf, api, bridge, workdir):
    """The Docker driver on the bench's bridge, with nova's control plane faked out."""
    from nova import objects

    from hybridhost.virt.docker import driver as driver_mod
    from tests.contract import nova_objects

    objects.register_all()
    nova_objects.NoControlPlaneFixture().setUp()  # the metadata builder's two reads
    conf.set_override("host", OWNER)
    conf.set_override("instances_path", workdir)
    for name, value in dict(nodename="bench-node", network_binding_host="bench-kvm", vcpus=2,
                            memory_mb=2048, disk_gb=10, integration_bridge=bridge,
                            stop_timeout=1).items():
        conf.set_override(name, value, group="hybridhost_docker")

    class Images:
        def download(self, context, image_id, fileobj):
            raise AssertionError("the image must be cached")

    return driver_mod.DockerDriver(NoWaitVirtAPI(), image_service=Images(),
                                   ovs_ports=ovs.OvsPorts(OVSDB, OWNER, api=api))


def _network_info(index, bridge):
    from nova.network import model

    subnet = model.Subnet(
        cidr="10.91.0.0/16", gateway=model.IP(address="10.91.0.1"),
        ips=[model.FixedIP(address=str(ipaddress.ip_address("10.91.1.0") + index))])
    network = model.Network(id="n", bridge=bridge, meta={"mtu": 1450}, subnets=[subnet])
    return model.NetworkInfo([model.VIF(
        id=str(uuidlib.uuid4()), address="fa:16:3e:aa:%02x:%02x" % (index >> 8, index & 255),
        active=True, type="ovs", network=network, details={"bridge_name": bridge})])


def _raw_spawn(client, image_id, floor, uuid, spec):
    """What the driver's spawn does at the least: create, start, plug the one VIF."""
    start = time.perf_counter()
    host_config = client.create_host_config(network_mode="none")
    created = client.create_container(image_id, labels=LABEL, host_config=host_config)
    client.start(created["Id"])
    pid = client.inspect_container(created["Id"])["State"]["Pid"]
    floor.plug(uuid, pid, spec)
    took = time.perf_counter() - start
    floor.unplug(spec)
    client.remove_container(created["Id"], force=True)
    return took


def spawn_bench(conf, client, api, image_id, bridge, count, workdir):
    from nova import context as nova_context
    from nova import objects

    from tests.contract import nova_objects

    drv = _bench_driver(conf, api, bridge, workdir)
    glance_id = str(uuidlib.uuid4())
    client.tag(image_id, "nova-glance/" + glance_id, "latest")
    ctx = nova_context.get_admin_context()
    meta = objects.ImageMeta.from_dict({"id": glance_id, "container_format": "docker",
                                        "disk_format": "raw", "properties": {}})
    floor = Floor(api)
    driver_times, raw_times = [], []
    try:
        for i in range(count):
            net_info = _network_info(i, bridge)
            instance = nova_objects.instance(OWNER, glance_id, memory_mb=64)
            start = time.perf_counter()
            drv.spawn(ctx, instance, meta, [], None, {}, network_info=net_info)
            driver_times.append(time.perf_counter() - start)
            drv.destroy(ctx, instance, net_info)
            spec = drv._specs(net_info)[0]  # noqa: SLF001  the same specs the driver plugs
            raw_times.append(_raw_spawn(client, image_id, floor, instance.uuid, spec))
    finally:
        client.remove_image("nova-glance/%s:latest" % glance_id, force=True)
    return median_ms(driver_times), median_ms(raw_times)


def _methods(conf, api, containers, per_container, bridge):
    """The three ways to plug, each with its own specs on the same containers."""
    import hybridhost.privileged
    import hybridhost.privileged.net as privileged_net

    driver_path = vifs.VifPlugger(ovs.OvsPorts(OVSDB, OWNER, api=api), privileged_net)
    driver_prefix = hybridhost.privileged.vif_prefix(conf)  # all the helper accepts
    privileged_net.delete_veth(driver_prefix + "warmup")  # the privsep daemon starts untimed
    methods = {}
    for offset, (name, method, prefix) in enumerate((
            ("(a) driver", driver_path, driver_prefix), ("(b) floor", Floor(api), "hbb"),
            ("(c) shell", Shell(), "hbc"))):
        methods[name] = (method, make_specs(containers, per_container, bridge, prefix,
                                            first_index=offset * per_container,
                                            by_sandbox=name == "(a) driver"))
    return methods


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vifs", type=int, default=60, help="VIFs per method (>= 50)")
    parser.add_argument("--containers", type=int, default=10)
    parser.add_argument("--spawns", type=int, default=15)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/vif_plug.py needs root")
    conf = configure_privsep()
    client = docker.APIClient(base_url=DOCKER_URL, version="1.41")
    api = ovs.OvsPorts(OVSDB, OWNER).api
    bridge = "br-hhbench-%d" % (os.getpid() % 10000)
    workdir = tempfile.mkdtemp(prefix="hh-bench-")
    make_bridge(api, bridge)
    containers = []
    image_id = None
    try:
        image_id = load_image(client, workdir)
        containers = start_containers(client, image_id, args.containers)
        per_container = -(-args.vifs // args.containers)
        results = measure(_methods(conf, api, containers, per_container, bridge))
        spawn_driver, spawn_raw = spawn_bench(conf, client, api, image_id, bridge, args.spawns,
                                              workdir)
    finally:
        for cid, _pid, _sandbox in containers:
            client.remove_container(cid, force=True)
        api.del_br(bridge, if_exists=True).execute(check_error=True)
        if image_id:
            with contextlib.suppress(docker.errors.APIError):
                client.remove_image(image_id)
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, per_container * args.containers, spawn_driver, spawn_raw, args.spawns)


def report(results, count, spawn_driver, spawn_raw, spawns):
    print("VIF plug/unplug, median over %d VIFs each (ms)" % count)
    print("%-12s %10s %10s" % ("method", "plug", "unplug"))
    for name, (plug, unplug) in results.items():
        print("%-12s %10.2f %10.2f" % (name, plug, unplug))
    a, b, c = (results[k] for k in ("(a) driver", "(b) floor", "(c) shell"))
    print("ratios: plug a/b = %.2f (target <= 1.2), unplug a/b = %.2f" % (a[0] / b[0], a[1] / b[1]))
    print("        plug c/a = %.2f (target >= 2), unplug c/a = %.2f" % (c[0] / a[0], c[1] / a[1]))
    print("spawn-to-running, cached image, 1 VIF, median over %d (ms):" % spawns)
    print("  driver spawn            %8.1f" % spawn_driver)
    print("  raw create+start + floor plug %8.1f" % spawn_raw)
    print("  ratio driver/raw = %.2f" % (spawn_driver / spawn_raw))


if __name__ == "__main__":
    main()
