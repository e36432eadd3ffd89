"""Test case base for the driver's unit tests: fakes at every seam, no root, no daemons."""

import contextlib
import os
import shutil
import tempfile
import uuid as uuidlib

import fixtures
from oslo_config import fixture as config_fixture

from hybridhost.privileged import net_admin
from hybridhost.virt.docker import conf as docker_conf
from hybridhost.virt.docker import engine as engine_mod
from tests.contract import nova_objects
from tests.contract import tarballs
from tests.unit.virt_docker import fake_plumbing
from tests.unit.virt_docker import fakes

HOST = "box-docker"
CHUNK = 64 * 1024


class PrivsepNoHelperFixture(fixtures.Fixture):
    """Fail loudly if a unit test reaches the real privsep daemon."""

    def _setUp(self):
        def refuse(*args, **kwargs):
            raise AssertionError("a unit test tried to start the privsep daemon")

        original = net_admin.start
        net_admin.start = refuse
        self.addCleanup(setattr, net_admin, "start", original)


class MemoryImageService:
    """Glance stand-in: tarballs on local disk, uploads kept in memory."""

    def __init__(self, directory):
        self.directory = directory
        self.images = {}
        self.downloads = []

    def add(self, path, container_format="docker"):
        image_id = str(uuidlib.uuid4())
        self.images[image_id] = {"path": path, "container_format": container_format}
        return image_id

    def show(self, context, image_id):
        image = self.images[image_id]
        return dict(image, id=image_id, size=image.get("size", os.path.getsize(image["path"])))

    def download(self, context, image_id, fileobj):
        """As nova's Glance client does: chunk after chunk into ``fileobj``."""
        self.downloads.append(image_id)
        with open(self.images[image_id]["path"], "rb") as src:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                fileobj.write(chunk)

    def upload(self, context, image_id, metadata, fileobj):
        path = os.path.join(self.directory, image_id + ".tar")
        with open(path, "wb") as out:
            shutil.copyfileobj(fileobj, out)
        self.images[image_id] = {"path": path, "container_format": metadata["container_format"],
                                 "metadata": metadata}


class RecordingVirtAPI:
    """Records the events a spawn waits for; can time out or fail them."""

    def __init__(self):
        self.waited = []
        self.outcome = None  # None | "timeout" | "failed"

    @contextlib.contextmanager
    def wait_for_instance_event(self, instance, event_names, timeout=300, error_callback=None):
        from nova import exception as nova_exception

        yield
        self.waited.append((instance.uuid, list(event_names), timeout))
        if event_names and self.outcome == "timeout":
            raise nova_exception.InstanceEventTimeout()
        if event_names and self.outcome == "failed":
            error_callback(event_names[0][0], instance)


class DriverUnitTestCase(fixtures.TestWithFixtures):
    """Fakes at every seam; also the fake harness of ``tests/contract/driver_contract.py``."""

    host = HOST
    bridge = "br-int"

    def setUp(self):
        super().setUp()
        from nova import context as nova_context
        from nova import objects
        import nova.conf

        objects.register_all()
        docker_conf.register_opts(nova.conf.CONF)  # as importing the driver does
        self.useFixture(PrivsepNoHelperFixture())
        self.useFixture(nova_objects.NoControlPlaneFixture())
        self.conf = self.useFixture(config_fixture.Config(nova.conf.CONF))
        self.tmp = tempfile.mkdtemp(prefix="hh-unit-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.conf.config(group="hybridhost_docker", nodename="box-docker-node",
                         network_binding_host="box-kvm", vcpus=3, memory_mb=3072, disk_gb=30)
        self.conf.config(host=HOST, instances_path=self.tmp, my_ip="192.0.2.7",
                         vif_plugging_timeout=30, vif_plugging_is_fatal=True)
        self.client = fakes.FakeDockerClient()
        self.engine = engine_mod.Engine(self.client, HOST)
        self.net = fake_plumbing.FakeNet()
        self.client.exit_listeners.append(self.net.netns_gone)
        self.ovs = fake_plumbing.FakeOvsPorts(HOST, link_exists=self.net.host_link)
        self.links = self.net
        self.images = MemoryImageService(self.tmp)
        self.virtapi = RecordingVirtAPI()
        self.network_api = nova_objects.BindingNetworkAPI()
        self.driver = self.make_driver()
        self.context = nova_context.get_admin_context()
        self.tarball = os.path.join(self.tmp, "image.tar")
        self.tarball_image_id = tarballs.write_tarball(self.tarball, tarballs.tiny_layer())
        self._count = 0

    def make_driver(self):
        """A DockerDriver on this test's fakes (a second one is nova-compute restarted)."""
        from hybridhost.virt.docker import driver as driver_mod

        return driver_mod.DockerDriver(self.virtapi, engine=self.engine, ovs_ports=self.ovs,
                                       net=self.net, image_service=self.images,
                                       network_api=self.network_api)

    def foreign_ovs(self, owner):
        return self.ovs.sibling(owner)

    def add_image(self, path=None, container_format="docker"):
        return self.images.add(path or self.tarball, container_format)

    def instance(self, memory_mb=256, vcpus=2):
        from nova import objects

        self._count += 1
        uuid = str(uuidlib.uuid4())
        return objects.Instance(
            id=self._count, uuid=uuid, host=HOST, hostname="vm%d" % self._count,
            image_ref="x", project_id="p", user_id="u", vm_state="building",
            flavor=objects.Flavor(memory_mb=memory_mb, vcpus=vcpus, root_gb=1, ephemeral_gb=0,
                                  swap=0, name="m", flavorid="m", extra_specs={}),
            **nova_objects.loaded_fields(self._count, uuid))

    def image_meta(self, glance_id, **properties):
        from nova import objects

        return objects.ImageMeta.from_dict({
            "id": glance_id, "name": "n", "disk_format": "raw", "properties": properties,
            "container_format": self.images.images[glance_id]["container_format"]})

    def network_info(self, *subnets_per_vif, active=False, mtu=1450):
        from nova.network import model

        vifs = []
        for subnets in subnets_per_vif:
            port_id = str(uuidlib.uuid4())
            net_subnets = [model.Subnet(
                cidr=cidr, ips=[model.FixedIP(address=ip)],
                **({"gateway": model.IP(address=gw, type="gateway")} if gw else {}))
                for cidr, ip, gw in subnets]
            vifs.append(model.VIF(
                id=port_id, address="fa:16:3e:00:%02x:%02x" % (len(vifs), self._count % 256),
                network=model.Network(id="n", bridge="br-int", subnets=net_subnets,
                                      meta={"mtu": mtu}),
                type="ovs", details={"bridge_name": "br-int", "datapath_type": "netdev"},
                devname=("tap" + port_id)[:14], active=active))
        return model.NetworkInfo(vifs)

    def spawn(self, network_info=None, glance_id=None, **props):
        glance_id = glance_id or self.images.add(self.tarball)
        instance = self.instance()
        self.driver.spawn(self.context, instance, self.image_meta(glance_id, **props), [], None,
                          {}, network_info=network_info or [])
        return instance


def tarball_with_marker(directory, marker):
    """Another image: a tarball whose one layer holds ``marker``."""
    path = os.path.join(directory, "image-%s.tar" % marker)
    tarballs.write_tarball(path, tarballs.tiny_layer(marker))
    return path
