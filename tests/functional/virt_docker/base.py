"""Shared plumbing of the Docker driver's functional tests (real dockerd, real OVS).

* :func:`require_docker` / :func:`require_ovs` skip with a reason when a daemon is
  absent, but FAIL when ``CI=true`` (a CI run must never silently skip).
* Privileged steps go through the REAL oslo.privsep daemon: the test configures
  ``[hybridhost_docker_privileged] helper_command`` to the venv's ``privsep-helper``
  (we run as root, so no sudo). This is the same path nova-compute takes.
* Everything created is labelled / named for the test run and removed in cleanups:
  containers (the driver's carry ``nova.host=hhtest-docker-<pid>``, those a test
  creates itself the label ``hybridhost.test``), veths, OVS rows, bridges, image tags.
* The driver's host (its containers' label, its OVS rows' owner) is one per test
  process, as the bridge is: two runs on one machine (CI beside a developer) never list,
  sweep or remove each other's instances. Containers of a run that died before its
  cleanups are removed by the next run.
* :class:`DriverTestCase` is also the real harness of the driver contract
  (``tests/contract/driver_contract.py``); :class:`KernelLinks` is what the contracts
  read of links (the twin of ``FakeNet.host_link``/``container_link``).
"""

import contextlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid as uuidlib

import docker
import fixtures
import psutil
from pyroute2 import IPRoute
import pytest

import hybridhost.privileged.net
from tests.contract import net_contract
from tests.contract import nova_objects
from tests.contract import tarballs

DOCKER_URL = os.environ.get("HH_TEST_DOCKER_URL", "unix:///var/run/docker.sock")
OVSDB = os.environ.get("HH_TEST_OVSDB", "unix:/var/run/openvswitch/db.sock")
TEST_LABEL = "hybridhost.test"
#: The venv's privsep-helper runs the INSTALLED hybridhost.privileged; to test a tree's
#: own, e.g. HH_TEST_PRIVSEP_HELPER="env PYTHONPATH=$PWD /opt/hybridhost/venv/bin/privsep-helper".
PRIVSEP_HELPER = os.environ.get("HH_TEST_PRIVSEP_HELPER") or os.path.join(
    os.path.dirname(sys.executable), "privsep-helper")
MAIN_TABLE = 254
HOST_PREFIX = "hhtest-docker-"
HOST = "%s%d" % (HOST_PREFIX, os.getpid())


def unavailable(reason):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but %s" % reason, pytrace=False)
    pytest.skip(reason)


def require_docker():
    try:
        client = docker.APIClient(base_url=DOCKER_URL, version="1.41", timeout=10)
        client.ping()
        return client
    except Exception as err:  # noqa: BLE001 - any failure means: no usable daemon
        unavailable("no Docker engine at %s: %s" % (DOCKER_URL, err))


def remove_dead_runs_containers(client):
    """Remove the driver containers of test processes that are gone."""
    for summary in client.containers(all=True, filters={"label": ["nova.host"]}):
        host = summary["Labels"]["nova.host"]
        pid = host[len(HOST_PREFIX):]
        if host.startswith(HOST_PREFIX) and pid.isdigit() and not psutil.pid_exists(int(pid)):
            with contextlib.suppress(docker.errors.NotFound):
                client.remove_container(summary["Id"], force=True)


def require_ovs():
    path = OVSDB.split(":", 1)[1]
    if not OVSDB.startswith("unix:") or not os.path.exists(path):
        unavailable("no OVSDB socket at %s" % OVSDB)
    from hybridhost.virt.docker import ovs
    try:
        api = ovs.OvsPorts(OVSDB, owner="probe").api
        api.br_exists("br-int").execute(check_error=True)
        return api
    except Exception as err:  # noqa: BLE001 - any failure means: no usable OVSDB
        unavailable("OVSDB at %s is not usable: %s" % (OVSDB, err))


def require_root():
    if os.geteuid() != 0:
        unavailable("functional network tests need root (CAP_NET_ADMIN)")


def _first(value):
    """The value of an optional OVSDB column (a list of zero or one items, or the value)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


class TestBridge(fixtures.Fixture):
    """A userspace (datapath_type=netdev) OVS bridge, deleted on cleanup.

    ovs-vswitchd tears the netdev datapath down with the last netdev bridge and may
    fail (EBUSY) to recreate it right away, so creation is verified and retried.
    """

    _count = 0

    def __init__(self, api, attempts=10):
        super().__init__()
        self.api = api
        self.attempts = attempts

    def _setUp(self):
        TestBridge._count += 1
        self.name = "br-hhtest-%d" % (os.getpid() % 10000 * 10 + TestBridge._count % 10)
        self.addCleanup(self.api.del_br(self.name, if_exists=True).execute, check_error=True)
        for _attempt in range(self.attempts):
            self.api.add_br(self.name, datapath_type="netdev").execute(check_error=True)
            if wait_for(self._ready, timeout=2):
                return
            self.api.del_br(self.name, if_exists=True).execute(check_error=True)
            time.sleep(0.5)
        raise RuntimeError("ovs-vswitchd could not create bridge %s" % self.name)

    def _ready(self):
        with self.api.ovsdb_connection.lock:  # the IDL thread applies updates under it
            for row in self.api.tables["Interface"].rows.values():
                if row.name == self.name:
                    ofport = _first(row.ofport)
                    return bool(ofport) and ofport > 0 or ofport == 65534
        return False


class KernelLinks:
    """What the kernel shows of links, for the contracts (see ``FakeNet``'s twins)."""

    @staticmethod
    def host_link(name):
        """The ifindex of ``name`` in the host's namespace, or None."""
        with IPRoute() as ipr:
            found = ipr.link_lookup(ifname=name)
        return found[0] if found else None

    @staticmethod
    def container_link(netns, ifname):
        """``ifname`` in the namespace at ``netns`` as a ``net_contract.link_view``, or None."""
        with IPRoute(netns=netns) as ns:
            found = ns.link_lookup(ifname=ifname)
            if not found:
                return None
            link = ns.get_links(found[0])[0]
            addresses = ["%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                         for a in ns.get_addr(index=found[0]) if a["scope"] == 0]
            routes = [(_route_dst(r), r.get_attr("RTA_GATEWAY"))
                      for r in ns.get_routes(oif=found[0])
                      if r.get_attr("RTA_GATEWAY") and r.get_attr("RTA_TABLE") == MAIN_TABLE]
        return net_contract.link_view(link.get_attr("IFLA_ADDRESS"), link.get_attr("IFLA_MTU"),
                                      link.get_attr("IFLA_OPERSTATE") == "UP", addresses, routes)


def _route_dst(route):
    dst = route.get_attr("RTA_DST") or ("::" if route["family"] == socket.AF_INET6 else "0.0.0.0")
    return "%s/%d" % (dst, route["dst_len"])


class LocalImageService:
    """A Glance stand-in serving real ``docker save`` tarballs from local files."""

    def __init__(self, directory):
        self.directory = directory
        self.images = {}

    def add(self, path, container_format="docker", image_id=None):
        image_id = image_id or str(uuidlib.uuid4())
        self.images[image_id] = {"path": path, "container_format": container_format}
        return image_id

    def show(self, context, image_id):
        return dict(self.images[image_id], id=image_id)

    def download(self, context, image_id, fileobj):
        with open(self.images[image_id]["path"], "rb") as src:
            for chunk in iter(lambda: src.read(1024 * 1024), b""):
                fileobj.write(chunk)

    def upload(self, context, image_id, metadata, fileobj):
        path = os.path.join(self.directory, "%s.tar" % image_id)
        with open(path, "wb") as out:
            shutil.copyfileobj(fileobj, out)
        self.images[image_id] = {"path": path, "container_format": metadata["container_format"],
                                 "metadata": metadata}


class PluggedEventsVirtAPI:
    """A virtapi whose ``network-vif-plugged`` comes from OVSDB, as neutron's would.

    After the body of ``wait_for_instance_event`` ran, every expected port must show
    up on OVS with ``iface-id`` = the port and a valid ofport: exactly the condition
    on which the OVS agent wires a port and neutron sends the event.
    """

    def __init__(self, api, poll=0.05):
        self.api = api
        self.poll = poll
        self.delivered = []

    def _port_ready(self, port_id):
        with self.api.ovsdb_connection.lock:  # the IDL thread applies updates under it
            for row in self.api.tables["Interface"].rows.values():
                ofport = _first(row.ofport)
                if row.external_ids.get("iface-id") == port_id and ofport and ofport > 0:
                    return bool(row.external_ids.get("attached-mac"))
        return False

    @contextlib.contextmanager
    def wait_for_instance_event(self, instance, event_names, timeout=300, error_callback=None):
        from nova import exception as nova_exception
        yield
        deadline = time.monotonic() + timeout
        for name, port_id in event_names:
            while not self._port_ready(port_id):
                if time.monotonic() > deadline:
                    raise nova_exception.InstanceEventTimeout()
                time.sleep(self.poll)
            self.delivered.append((instance.uuid, name, port_id))

    def exit_wait_early(self, events):
        raise NotImplementedError()

    def update_compute_provider_status(self, context, rp_uuid, enabled):
        pass


class DriverTestCase(fixtures.TestWithFixtures):
    """A real DockerDriver (real dockerd, real OVS, real privsep) per test; also the real
    harness of ``tests/contract/driver_contract.py``."""

    host = HOST
    net = hybridhost.privileged.net
    links = KernelLinks()
    cap_add = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
               "NET_BIND_SERVICE", "NET_RAW"]

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.docker = require_docker()
        remove_dead_runs_containers(cls.docker)
        cls.ovs_api = require_ovs()
        if not tarballs.have_busybox():
            unavailable("busybox-static (/bin/busybox) is needed to build test images")
        cls.workdir = tempfile.mkdtemp(prefix="hh-func-")
        cls.layer = tarballs.busybox_layer()
        cls.tarball = os.path.join(cls.workdir, "busybox.tar")
        cls.tarball_image_id = tarballs.write_tarball(cls.tarball, cls.layer)
        cls._bridge_fixture = TestBridge(cls.ovs_api)
        cls._bridge_fixture.setUp()
        cls.bridge = cls._bridge_fixture.name

    @classmethod
    def tearDownClass(cls):
        cls._bridge_fixture.cleanUp()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        from nova import context as nova_context
        from nova import objects
        import nova.conf
        from oslo_config import fixture as config_fixture

        from hybridhost.virt.docker import conf as docker_conf

        objects.register_all()
        self.useFixture(nova_objects.NoControlPlaneFixture())
        docker_conf.register_opts(nova.conf.CONF)
        self.conf = self.useFixture(config_fixture.Config(nova.conf.CONF))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.flags(group="hybridhost_docker", docker_url=DOCKER_URL, ovsdb_connection=OVSDB,
                   nodename="hhtest-docker-node", network_binding_host="hhtest-kvm",
                   vcpus=2, memory_mb=2048, disk_gb=20, integration_bridge=self.bridge,
                   stop_timeout=2, cap_add=self.cap_add)
        self.flags(host=self.host, instances_path=self.tmp, my_ip="127.0.0.1",
                   vif_plugging_timeout=20, vif_plugging_is_fatal=True)
        self.flags(group="hybridhost_docker_privileged", helper_command=PRIVSEP_HELPER)
        self.images = LocalImageService(self.tmp)
        self.virtapi = PluggedEventsVirtAPI(self.ovs_api)
        self.network_api = nova_objects.BindingNetworkAPI()
        self.driver = self.make_driver()
        self.context = nova_context.get_admin_context()
        self.addCleanup(self._remove_leftovers)
        self._glance_ids = []

    def flags(self, group=None, **kw):
        for name, value in kw.items():
            self.conf.config(**{name: value, "group": group} if group else {name: value})

    def _remove_leftovers(self):
        """Remove whatever a failed test left: containers, image tags (rows go with the bridge)."""
        self.driver.cleanup_host(self.host)
        mine = {"label": "nova.host=" + self.host}
        for container in self.docker.containers(all=True, filters=mine):
            self.docker.remove_container(container["Id"], force=True)
        for glance_id in self._glance_ids:
            with contextlib.suppress(docker.errors.NotFound):
                self.docker.remove_image("nova-glance/%s:latest" % glance_id)
        with contextlib.suppress(docker.errors.APIError):
            self.docker.remove_image(self.tarball_image_id)

    def make_driver(self):
        """A DockerDriver on the real daemons (a second one is nova-compute restarted)."""
        from hybridhost.virt.docker import driver as driver_mod

        return driver_mod.DockerDriver(self.virtapi, image_service=self.images,
                                       network_api=self.network_api)

    def foreign_ovs(self, owner):
        from hybridhost.virt.docker import ovs

        return ovs.OvsPorts(OVSDB, owner=owner, api=self.ovs_api)

    def add_image(self, path=None, container_format="docker"):
        glance_id = self.images.add(path or self.tarball, container_format)
        self._glance_ids.append(glance_id)
        return glance_id

    def make_instance(self, image_id, memory_mb=128, vcpus=1):
        return nova_objects.instance(self.host, image_id, memory_mb, vcpus)

    def image_meta(self, glance_id):
        meta = self.images.show(None, glance_id)
        return nova_objects.image_meta(glance_id, meta["container_format"])

    def spawn(self, glance_id, net_info, **kw):
        instance = self.make_instance(glance_id, **kw)
        self.driver.spawn(self.context, instance, self.image_meta(glance_id), [], None, {},
                          network_info=net_info)
        self.addCleanup(self.driver.destroy, self.context, instance, net_info)
        return instance

    def exec(self, instance, *cmd):
        """(exit code, output) of ``cmd`` run inside the instance's container."""
        container = "nova-" + instance.uuid
        exec_id = self.docker.exec_create(container, list(cmd))
        output = self.docker.exec_start(exec_id)
        return self.docker.exec_inspect(exec_id)["ExitCode"], output.decode(errors="replace")

    def ping(self, instance, address, count=2):
        flag = "-6" if ":" in address else "-4"
        return self.exec(instance, "ping", flag, "-c", str(count), "-W", "2", address)[0] == 0


@contextlib.contextmanager
def updating_rows(api, names):
    """Another thread updates the Interface rows ``names`` over and over meanwhile, as
    ovs-vswitchd does with the statistics of every row; rows that go are skipped."""
    done = threading.Event()

    def update():
        count = 0
        while not done.is_set():
            count += 1
            for name in names:
                with contextlib.suppress(Exception):
                    api.db_set("Interface", name, ("external_ids", {"hh-churn": str(count)})
                               ).execute(check_error=True, log_errors=False)

    thread = threading.Thread(target=update)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextlib.contextmanager
def switching_often(interval=1e-5):
    """Python threads switch every ``interval`` seconds instead of every 5 ms meanwhile:
    a race between threads shows in a few tries instead of a few thousand."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


