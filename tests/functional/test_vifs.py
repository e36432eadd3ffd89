"""``hybridhost vifs`` against a real Open vSwitch, dockerd and privsep daemon.

On a bridge of the test's own (a second one holds the patch peer): three containers
of a Docker side named for the test, each with a VIF plugged by the driver's own
plugger and its spec saved where the driver saves it; a "libvirt" tap (an internal
port with an iface-id and a vm-uuid), a broken "libvirt" tap (no device behind it),
and an agent-like patch port. No agent serves the bridge: the test tags the VIFs and
the taps as the OVS agent would (a VIF without a tag is "unwired"). The test breaks two
of ours (deletes one's OVS row, kills another's container), checks that ``vifs`` flags
them and exits 1, that ``--repair`` fixes exactly those two and leaves every other row
as it was (compared column by column in OVSDB, the traffic counters aside), and that
``vifs`` exits 0 once the re-plugged VIF is tagged and the broken foreign tap is gone.
"""

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import textwrap
import uuid as uuidlib

import docker
import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from ovs.db import idl as ovs_idl

from hybridhost.cmd import main as cli
import hybridhost.privileged.net
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import limits
from hybridhost.virt.docker import ovs
from hybridhost.virt.docker import vifs
from tests.contract import net_contract
from tests.contract import tarballs
from tests.functional import base as functional_base
from tests.functional.virt_docker import base

OWNER = "hhtest-vifs-docker"
AGENT_VLAN = 1  # the tag the test gives a port as the agent would
#: Counters ovs-vswitchd refreshes every few seconds on its own.
VOLATILE = {"statistics"}


def _random_name(prefix):
    return (prefix + uuidlib.uuid4().hex)[:14]


def _value(value):
    if isinstance(value, ovs_idl.Row):
        return str(value.uuid)
    if isinstance(value, list):
        return sorted(_value(v) for v in value)
    if isinstance(value, dict):
        return {_value(k): _value(v) for k, v in value.items()}
    return value


def ovsdb_rows(api, name):
    """The Port and Interface rows called ``name``: every column, references as uuids."""
    dumped = {}
    for table in ("Port", "Interface"):
        for row in api.tables[table].rows.values():
            if row.name == name:
                columns = sorted(set(api.tables[table].columns) - VOLATILE)
                dumped[table] = dict({c: _value(getattr(row, c)) for c in columns},
                                     _uuid=str(row.uuid))
    return dumped


class VifsCommandTest(fixtures.TestWithFixtures):

    @classmethod
    def setUpClass(cls):
        base.require_root()
        cls.docker = base.require_docker()
        cls.api = base.require_ovs()
        if not tarballs.have_busybox():
            base.unavailable("busybox-static (/bin/busybox) is needed to build test images")
        cls.workdir = tempfile.mkdtemp(prefix="hh-vifs-")
        tarball = os.path.join(cls.workdir, "busybox.tar")
        cls.image_id = tarballs.write_tarball(tarball, tarballs.busybox_layer())
        with open(tarball, "rb") as fileobj:
            engine_mod.Engine(cls.docker, OWNER).load_image(fileobj)
        cls.bridges = [base.TestBridge(cls.api), base.TestBridge(cls.api)]
        for bridge in cls.bridges:
            bridge.setUp()
        cls.bridge = cls.bridges[0].name

    @classmethod
    def tearDownClass(cls):
        for bridge in cls.bridges:
            bridge.cleanUp()
        with contextlib.suppress(docker.errors.APIError):
            cls.docker.remove_image(cls.image_id)
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        conf = self.useFixture(config_fixture.Config(cfg.CONF))
        conf.config(group="hybridhost_docker_privileged", helper_command=base.PRIVSEP_HELPER)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.conf_path = self._write_conf()
        self.engine = engine_mod.Engine(self.docker, OWNER)
        self.ports = ovs.OvsPorts(base.OVSDB, owner=OWNER, api=self.api)
        self.plugger = vifs.VifPlugger(self.ports, hybridhost.privileged.net)
        self.store = vifs.SpecStore(os.path.join(self.tmp, "state", "nova-docker", "instances"))
        self.addCleanup(self._remove_containers)

    def _write_conf(self):
        path = os.path.join(self.tmp, "hybridhost.conf")
        with open(path, "w") as handle:
            handle.write((textwrap.dedent("""\
                [host]
                name = hhtest-vifs
                docker_compute_host = {owner}
                total_vcpus = 4
                total_memory_mb = 8192
                total_disk_gb = 100
                """) + functional_base.PATHS_SECTION + textwrap.dedent("""\
                [docker]
                url = {docker}
                [ovs]
                ovsdb_connection = {ovsdb}
                integration_bridge = {bridge}
                """)).format(owner=OWNER, d=self.tmp, bin=os.path.dirname(sys.executable),
                             docker=base.DOCKER_URL, ovsdb=base.OVSDB, bridge=self.bridge))
        return path

    def _remove_containers(self):
        for container in self.docker.containers(all=True, filters={
                "label": "%s=%s" % (engine_mod.LABEL_HOST, OWNER)}):
            self.docker.remove_container(container["Id"], force=True)

    # --- the box ---------------------------------------------------------------------

    def spawn(self, index):
        """A running container of the test's Docker side with one VIF plugged and saved."""
        uuid = str(uuidlib.uuid4())
        port_id = str(uuidlib.uuid4())
        self.engine.create(uuid, "vm-%d" % index, self.image_id, limits.host_config_kwargs(
            limits.limits_for(32, 1, 64)))
        self.engine.start(uuid)
        netns = self.engine.get(uuid).sandbox
        spec = vifs.VifSpec(port_id=port_id, mac="fa:16:3e:77:00:%02x" % index,
                            host_ifname=vifs.host_ifname("hhd", port_id), ifname="eth0",
                            bridge=self.bridge, mtu=1500,
                            addresses=("10.99.0.%d/24" % (10 + index),), routes=())
        self.plugger.plug(uuid, netns, spec)
        self.addCleanup(self._unplug, spec)
        self.store.save(uuid, [spec])
        self.wire(spec.host_ifname)
        return uuid, spec

    def wire(self, name):
        """What the OVS agent does to a port it wires (no agent serves this bridge)."""
        self.api.db_set("Port", name, ("tag", AGENT_VLAN)).execute(check_error=True)

    def _unplug(self, spec):
        with contextlib.suppress(Exception):
            self.plugger.unplug(spec)

    def add_foreign(self, name, bridge=None, **attrs):
        self.api.add_port(bridge or self.bridge, name, **attrs).execute(check_error=True)
        self.addCleanup(self.api.del_port(name, if_exists=True).execute, check_error=True)

    def add_libvirt_tap(self, broken=False):
        """A tap port as os-vif leaves it for a VM; ``broken``: no device behind it."""
        name = _random_name("tap")
        ids = {"iface-id": str(uuidlib.uuid4()), "iface-status": "active",
               "attached-mac": "fa:16:3e:66:00:01", "vm-uuid": str(uuidlib.uuid4())}
        interface = {} if broken else {"type": "internal"}
        self.add_foreign(name)
        self.api.db_set("Interface", name, ("external_ids", ids),
                        *interface.items()).execute(check_error=True)
        self.wire(name)
        return name

    def add_patch_pair(self):
        name, peer = _random_name("patch-t"), _random_name("patch-i")
        self.add_foreign(name)
        self.add_foreign(peer, bridge=self.bridges[1].name)
        for here, there in ((name, peer), (peer, name)):
            self.api.db_set("Interface", here, ("type", "patch"),
                            ("options", {"peer": there})).execute(check_error=True)
        return name

    def vifs(self, *args):
        """``hybridhost vifs --json ARGS``: (exit code, the JSON it printed)."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["--config-file", self.conf_path, "vifs", "--json", *args])
        return code, json.loads(out.getvalue())

    def wait_ofport(self, name):
        def has_ofport():
            port = self.ports.get_port(name)
            return port is not None and port.ofport > 0

        net_contract.eventually(has_ofport, "%s to get an OpenFlow port" % name)

    # --- the test ----------------------------------------------------------------------

    def test_flags_ours_repairs_ours_and_leaves_the_rest_identical(self):
        (uuid_a, spec_a), (uuid_b, spec_b), (_uuid_c, spec_c) = (self.spawn(i) for i in (1, 2, 3))
        tap, patch = self.add_libvirt_tap(), self.add_patch_pair()
        for name in (tap, patch):
            self.wait_ofport(name)
        code, report = self.vifs()
        self.assertEqual((0, 0), (code, report["problems"]), report)
        owners = {p["port"]: p["owner"] for p in report["ports"]}
        self.assertEqual({spec_a.host_ifname: "docker", spec_b.host_ifname: "docker",
                          spec_c.host_ifname: "docker", tap: "libvirt", patch: "agent",
                          self.bridge: "agent"}, owners)
        self.assertEqual({"yes"}, {p["netns"] for p in report["ports"] if p["owner"] == "docker"})

        broken_tap = self.add_libvirt_tap(broken=True)
        self.api.del_port(spec_a.host_ifname).execute(check_error=True)
        self.docker.kill("nova-" + uuid_b)
        net_contract.eventually(lambda: self.ports.get_port(spec_a.host_ifname) is None,
                                "the IDL to see the deleted row")
        net_contract.eventually(lambda: not self.engine.get(uuid_b).running,
                                "the killed container to stop")
        untouched = (tap, patch, broken_tap, self.bridge, spec_c.host_ifname)
        before = {name: ovsdb_rows(self.api, name) for name in untouched}
        self.assertEqual({("Interface", "Port")}, {tuple(sorted(rows)) for rows in before.values()})

        code, report = self.vifs()
        self.assertEqual(1, code)
        problems = {(p["port"], q["code"]) for p in report["ports"] for q in p["problems"]}
        self.assertIn((spec_a.host_ifname, "vif-missing"), problems)
        self.assertIn((spec_b.host_ifname, "orphan"), problems)
        self.assertIn((broken_tap, "no-ofport"), problems)

        code, report = self.vifs("--repair")
        self.assertEqual(1, code, report)  # the broken foreign tap is reported, not touched
        self.assertEqual(
            [("remove", spec_b.host_ifname, True), ("replug", spec_a.host_ifname, True)],
            sorted((r["action"], r["port"], r["ok"]) for r in report["repairs"]))
        # Plugged again, spec_a waits for the agent to wire it.
        self.assertEqual({(broken_tap, "no-ofport"), (spec_a.host_ifname, "unwired")},
                         {(p["port"], q["code"]) for p in report["ports"] for q in p["problems"]})
        self.assertEqual(before, {name: ovsdb_rows(self.api, name) for name in untouched})
        self.assertIsNone(self.ports.get_port(spec_b.host_ifname))
        self.assertGreater(self.ports.get_port(spec_a.host_ifname).ofport, 0)
        inside = base.KernelLinks.container_link(self.engine.get(uuid_a).sandbox, "eth0")
        self.assertEqual((spec_a.mac, True), (inside["mac"], inside["up"]))

        self.wire(spec_a.host_ifname)
        self.api.del_port(broken_tap).execute(check_error=True)
        net_contract.eventually(lambda: not ovsdb_rows(self.api, broken_tap),
                                "the IDL to see the deleted row")
        code, report = self.vifs()
        self.assertEqual((0, 0), (code, report["problems"]), report)
