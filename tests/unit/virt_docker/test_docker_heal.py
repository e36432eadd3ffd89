"""What only the fakes can inject: failing ports at start-up, OVSDB refusing a re-plug,
the OOM killer. The behaviours both sides show are in tests/contract/recovery_contract.py."""

import logging
import time

import fixtures
from pyroute2.netlink.exceptions import NetlinkError

from hybridhost import exception
from hybridhost.virt.docker import driver as driver_mod
from tests.contract import net_contract
from tests.unit.virt_docker import fake_plumbing
from tests.unit.virt_docker import helpers

V4 = ("10.0.0.0/24", "10.0.0.5", "10.0.0.1")


class StubbornNet(fake_plumbing.FakeNet):
    """FakeNet whose kernel refuses to delete the veths named in ``undeletable``."""

    def __init__(self):
        super().__init__()
        self.undeletable = set()

    def delete_veth(self, host_ifname):
        if host_ifname in self.undeletable:
            raise NetlinkError(16, "Device or resource busy")
        return super().delete_veth(host_ifname)


class LogCapture(fixtures.Fixture):
    """hybridhost's log records at INFO and above, as text (``output``)."""

    def _setUp(self):
        self.lines = []
        handler = logging.Handler(logging.INFO)
        handler.emit = lambda record: self.lines.append(record.getMessage())
        logger = logging.getLogger("hybridhost")
        level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        self.addCleanup(logger.setLevel, level)

    @property
    def output(self):
        return "\n".join(self.lines)


class HealTestCase(helpers.DriverUnitTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(LogCapture())

    def start_host(self, driver=None):
        driver = driver or self.driver
        driver.init_host(HOST)
        self.addCleanup(driver.cleanup_host, HOST)
        return driver

    def host_ifname(self, network_info):
        return self.driver.spec_store.load_or_empty(self.find(network_info))[0].host_ifname

    def find(self, network_info):
        port_id = network_info[0]["id"]
        return next(p.vm_uuid for p in self.ovs.ports.values() if p.iface_id == port_id)


HOST = helpers.HOST


class StartUpTest(HealTestCase):

    def setUp(self):
        super().setUp()
        self.net = self.links = StubbornNet()
        self.ovs.link_exists = self.net.host_link
        self.client.exit_listeners[:] = [self.net.netns_gone]
        self.driver = driver_mod.DockerDriver(self.virtapi, engine=self.engine, ovs_ports=self.ovs,
                                              net=self.net, image_service=self.images)

    def orphan(self, name):
        self.net.create_veth(name, name + "p", "fa:16:3e:00:00:99", 1500)
        self.ovs.add_port("br-int", name, "port-" + name, "fa:16:3e:00:00:99", "gone-" + name)

    def test_one_orphan_that_cannot_go_does_not_stop_the_others_or_the_start(self):
        self.orphan("hhdstuck")
        self.orphan("hhdfree")
        self.net.undeletable.add("hhdstuck")
        network_info = self.network_info([V4])
        instance = self.spawn(network_info)
        self.start_host()
        self.assertNotIn("hhdfree", self.ovs.ports)
        self.assertIn("Could not remove orphan port hhdstuck", self.logs.output)
        self.assertTrue(self.driver._reconciler.alive)  # noqa: SLF001  the start went on
        self.assertEqual("running", self.engine.get(instance.uuid).status)


class ReplugRetryTest(HealTestCase):

    def test_a_vif_ovsdb_refuses_at_start_up_is_plugged_by_a_retry(self):
        network_info = self.network_info([V4])
        instance = self.spawn(network_info)
        name = self.host_ifname(network_info)
        self.ovs.delete_port(name)
        self.ovs.fail_next_add = exception.OvsdbOperationFailed(
            operation="add port", target=name, reason="connection reset")
        driver = self.start_host(self.make_driver())
        driver.plug_vifs(instance, network_info)  # nova's _init_instance: must not raise
        self.assertIn("retrying in 1.0s", self.logs.output)
        net_contract.eventually(lambda: name in self.ovs.ports, "the retry", timeout=5)
        self.assertEqual(instance.uuid, self.ovs.ports[name].vm_uuid)

    def test_a_restart_outside_nova_is_replugged_from_its_event(self):
        self.conf.config(group="hybridhost_docker", reconcile_interval=300)
        network_info = self.network_info([V4])
        instance = self.spawn(network_info)
        name = self.host_ifname(network_info)
        self.start_host()
        self.client.stop(self.engine.get(instance.uuid).id)
        started = time.monotonic()
        self.client.start(self.engine.get(instance.uuid).id)
        pid = self.engine.get(instance.uuid).sandbox
        net_contract.eventually(lambda: self.net.veth_intact(name, pid, "eth0",
                                                             network_info[0]["address"]),
                                "the re-plug", timeout=5)
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertIn("VIFs of instance %s plugged again" % instance.uuid, self.logs.output)


class RepairTest(HealTestCase):

    def test_an_intact_instance_costs_no_docker_call_a_restarted_one_is_replugged(self):
        network_info = self.network_info([V4])
        instance = self.spawn(network_info)
        inspected, inspect = [], self.client.inspect_container

        def counting_inspect(container):
            inspected.append(container)
            return inspect(container)

        self.client.inspect_container = counting_inspect
        self.assertFalse(self.driver.keeper.repair(instance.uuid))
        self.assertEqual([], inspected)
        container = self.engine.get(instance.uuid).id
        self.client.stop(container)
        self.client.start(container)
        self.assertTrue(self.driver.keeper.repair(instance.uuid))
        self.assertTrue(self.net.veth_intact(self.host_ifname(network_info),
                                             self.engine.get(instance.uuid).sandbox, "eth0",
                                             network_info[0]["address"]))


class ScanTest(HealTestCase):

    def test_the_scan_enters_no_container_and_finds_only_the_broken_ones(self):
        intact = self.spawn(self.network_info([V4]))
        restarted = self.spawn(self.network_info([V4]))
        container = self.engine.get(restarted.uuid).id
        self.client.stop(container)
        self.client.start(container)
        self.net.calls.clear()
        broken = self.driver.keeper.looking_broken([intact.uuid, restarted.uuid])
        self.assertEqual([restarted.uuid], broken)
        self.assertEqual([], self.net.calls)  # no privileged call, no namespace entered


class OomTest(HealTestCase):

    def test_an_oom_kill_is_logged_and_said_in_the_console(self):
        instance = self.spawn(self.network_info([V4]))
        self.start_host()
        self.client.oom_kill(self.engine.get(instance.uuid).id)
        net_contract.eventually(lambda: "was OOM-killed" in self.logs.output, "the warning")
        self.assertIn("Instance %s was OOM-killed (exit code 137)" % instance.uuid,
                      self.logs.output)
        console = self.driver.get_console_output(self.context, instance).decode()
        self.assertTrue(console.startswith("hybridhost-console-ok\n"), console)
        self.assertIn("[hybridhost] The container of instance %s was OOM-killed" % instance.uuid,
                      console)
        self.assertIn("the flavor's 256 MiB", console)

    def test_no_note_without_an_oom_kill_nor_after_a_new_start(self):
        instance = self.spawn(self.network_info([V4]))
        self.assertNotIn(b"OOM", self.driver.get_console_output(self.context, instance))
        self.client.oom_kill(self.engine.get(instance.uuid).id)
        self.driver.power_on(self.context, instance, self.network_info([V4]))
        self.assertNotIn(b"OOM", self.driver.get_console_output(self.context, instance))
