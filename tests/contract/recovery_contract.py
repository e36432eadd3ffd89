"""The Docker driver recovers: what runs comes back with its network, what cannot run says why.

Run on the fakes by ``tests/unit/virt_docker/test_docker_recovery_contract_fake.py`` and
on the real dockerd, OVS and privsep daemon by ``tests/functional/virt_docker/
test_docker_recovery_contract_real.py``; the harness is the driver contract's (see
:mod:`tests.contract.driver_contract`).
"""

import contextlib
import os
import time

from nova import exception as nova_exception
from nova.compute import power_state

from hybridhost import exception
from tests.contract import driver_contract
from tests.contract import net_contract
from tests.contract import tarballs

V4 = driver_contract.V4


class RecoveryContract(driver_contract.DriverHelpers):

    def _remove_image(self, image_id):
        with contextlib.suppress(exception.HybridhostError):
            self.driver.engine.untag_image(image_id)

    def start_host(self, driver):
        driver.init_host(self.host)
        self.addCleanup(driver.cleanup_host, self.host)
        return driver

    def _has_ofport(self, name):
        """The row of ``name`` has an OpenFlow port (OvsPorts reads the IDL cache under
        the connection's lock, so a row being updated is never met half-way)."""
        port = self.driver.ovs.get_port(name)
        return port is not None and port.ofport > 0

    def test_running_instances_come_back_after_down_and_up(self):
        """'down' stops nova-compute-docker, then the containers; at 'up' nova plugs each
        instance's VIFs and resumes those its database says run (not those stopped)."""
        running_info, stopped_info = self.ports([V4]), self.ports([driver_contract.OTHER_V4])
        running, stopped = self.boot(running_info), self.boot(stopped_info)
        self.driver.power_off(stopped)
        self.driver.engine.stop(running.uuid, timeout=0)
        restarted = self.start_host(self.make_driver())
        for instance, info in ((running, running_info), (stopped, stopped_info)):
            restarted.plug_vifs(instance, info)
        self.assertEqual(power_state.SHUTDOWN, restarted.get_info(running).state)
        restarted.resume_state_on_host_boot(self.context, running, running_info, None)
        self.assertEqual(power_state.RUNNING, restarted.get_info(running).state)
        self.assertPlugged(running, running_info[0])
        self.assertEqual(power_state.SHUTDOWN, restarted.get_info(stopped).state)
        self.assertUnplugged(stopped_info[0])

    def test_resume_state_on_host_boot_runs_a_paused_container(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        self.driver.pause(instance)
        self.driver.resume_state_on_host_boot(self.context, instance, network_info, None)
        self.assertEqual(power_state.RUNNING, self.state(instance))
        self.assertPlugged(instance, network_info[0])

    def test_init_host_survives_a_corrupt_spec_file_and_plug_vifs_rewrites_it(self):
        network_info, other_info = self.ports([V4]), self.ports([driver_contract.OTHER_V4])
        broken, other = self.boot(network_info), self.boot(other_info)
        name = self.host_ifname(network_info[0])
        self.driver.ovs.delete_port(name)
        with open(os.path.join(self.driver.spec_store.directory, broken.uuid,
                               "hybridhost-vifs.json"), "w") as spec_file:
            spec_file.write("{torn")
        self.driver.ovs.delete_port(self.host_ifname(other_info[0]))
        restarted = self.start_host(self.make_driver())
        self.assertPlugged(other, other_info[0])
        self.assertIsNone(restarted.ovs.get_port(name))
        restarted.plug_vifs(broken, network_info)
        self.assertPlugged(broken, network_info[0])

    def test_plug_vifs_raises_only_what_nova_tolerates_at_start(self):
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        network_info[0]["type"] = "binding_failed"
        self.assertRaises(nova_exception.VirtualInterfacePlugException,
                          self.driver.plug_vifs, instance, network_info)
        self.assertRaises(nova_exception.VirtualInterfacePlugException,
                          self.driver.plug_vifs, instance, [{"id": "p", "type": "ovs"}])

    def test_the_reconciler_replugs_a_vif_broken_without_an_event(self):
        self.conf.config(group="hybridhost_docker", reconcile_interval=0.5)
        network_info = self.ports([V4])
        instance = self.boot(network_info)
        self.start_host(self.driver)
        name = self.host_ifname(network_info[0])
        self.driver.ovs.delete_port(name)
        broken = time.monotonic()
        net_contract.eventually(lambda: self._has_ofport(name), "the reconciler to re-plug",
                                timeout=5)
        self.assertLess(time.monotonic() - broken, 5.0)
        self.assertPlugged(instance, network_info[0])

    def test_an_image_without_a_command_is_refused_before_anything_is_made(self):
        path = os.path.join(self.driver.spec_store.directory, "no-cmd.tar")
        image_id = tarballs.write_tarball(path, tarballs.tiny_layer("no-cmd"), cmd=[])
        glance_id = self.add_image(path)
        self.addCleanup(self._remove_image, image_id)
        network_info = self.ports([V4])
        error = net_contract.raised(nova_exception.ImageUnacceptable, self.boot, network_info,
                                    glance_id=glance_id)
        self.assertIn("neither CMD nor ENTRYPOINT", str(error))
        self.assertIn("os_command_line", str(error))
        self.assertEqual([], self.driver.list_instance_uuids())
        self.assertUnplugged(network_info[0])
