"""The contract of what a spawned container holds of its instance: keypair, config
drive, DNS servers, hostname. Run on the fakes (``tests/unit/virt_docker/
test_docker_guest_contract_fake.py``) and on the real dockerd (``tests/functional/
virt_docker/test_docker_guest_contract_real.py``), with the driver contract's harnesses.
"""

import base64
import io
import json
import posixpath
import tarfile

from nova import exception as nova_exception

from hybridhost.virt.docker import inject
from tests.contract import driver_contract
from tests.contract import net_contract
from tests.contract import nova_objects

DRIVE = inject.CONFIG_DRIVE_PATH


class GuestContract(driver_contract.DriverHelpers):
    """Mix into a driver contract harness (see tests/contract/driver_contract.py)."""

    def boot_with(self, network_info=(), injected_files=(), **loaded):
        glance_id = self.glance_id()
        instance = nova_objects.instance(self.host, glance_id, **loaded)
        meta = nova_objects.image_meta(
            glance_id, self.images.show(self.context, glance_id)["container_format"])
        self.addCleanup(self.driver.destroy, self.context, instance, network_info)
        self.driver.spawn(self.context, instance, meta, list(injected_files), "admin-secret",
                          {}, network_info=network_info)
        return instance

    def members(self, instance, path):
        """{path in the container: TarInfo and its data} of ``path`` and what it holds."""
        container = self.driver.engine.get(instance.uuid).id
        stream, _stat = self.driver.engine.client.get_archive(container, path)
        found = {}
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            for member in tar.getmembers():
                data = tar.extractfile(member).read() if member.isfile() else None
                found[posixpath.join(posixpath.dirname(path), member.name)] = (member, data)
        return found

    def read(self, instance, path):
        return self.members(instance, path)[path][1]

    def test_authorized_keys_hold_exactly_the_key(self):
        instance = self.boot_with()
        found = self.members(instance, "/root/.ssh")
        keys, data = found[inject.ROOT_KEYS_PATH]
        directory = found["/root/.ssh"][0]
        self.assertEqual((nova_objects.KEY + "\n").encode(), data)
        self.assertEqual((0o600, 0, 0), (keys.mode & 0o7777, keys.uid, keys.gid))
        self.assertEqual((0o700, 0, 0), (directory.mode & 0o7777, directory.uid, directory.gid))

    def test_without_a_keypair_no_authorized_keys_is_written(self):
        instance = self.boot_with(key_data=None)
        self.assertIn(DRIVE + "/openstack/latest/meta_data.json",
                      self.members(instance, DRIVE + "/openstack/latest"))
        self.assertIsNone(self.driver.engine.read_file(instance.uuid, inject.ROOT_KEYS_PATH))

    def test_a_keys_path_outside_a_plain_absolute_path_is_refused(self):
        sysmeta = {"image_" + inject.KEYS_PATH_PROPERTY: "/home/../etc/shadow"}
        error = net_contract.raised(nova_exception.InstanceDeployFailure, self.boot_with,
                                    system_metadata=sysmeta)
        self.assertIn(inject.KEYS_PATH_PROPERTY, str(error))
        self.assertEqual([], self.driver.list_instance_uuids())

    def test_the_config_drive_tree_is_nova_s_and_read_only(self):
        network_info = nova_objects.with_dns(self.ports([driver_contract.V4]), "10.71.0.2")
        user_data = b"#!/bin/sh\necho hello\n"
        instance = self.boot_with(network_info, [("/etc/motd", b"welcome\n")],
                                  user_data=base64.b64encode(user_data).decode())
        tree = self.members(instance, DRIVE + "/openstack")
        meta = json.loads(tree[DRIVE + "/openstack/latest/meta_data.json"][1])
        self.assertEqual((instance.uuid, instance.hostname + ".novalocal", instance.display_name),
                         (meta["uuid"], meta["hostname"], meta["name"]))
        self.assertEqual({"hhkey": nova_objects.KEY}, meta["public_keys"])
        self.assertNotIn("admin_pass", meta)
        self.assertEqual(user_data, tree[DRIVE + "/openstack/latest/user_data"][1])
        network = json.loads(tree[DRIVE + "/openstack/latest/network_data.json"][1])
        self.assertEqual([network_info[0]["id"]], [link["vif_id"] for link in network["links"]])
        self.assertIn({"type": "dns", "address": "10.71.0.2"}, network["services"])
        content = meta["files"][0]
        self.assertEqual("/etc/motd", content["path"])
        self.assertEqual(b"welcome\n", tree[DRIVE + "/openstack" + content["content_path"]][1])
        modes = {(m.mode & 0o7777, m.uid, m.gid) for m, data in tree.values()
                 if data is not None}
        self.assertEqual({(0o444, 0, 0)}, modes)

    def test_dns_servers_hosts_entry_and_hostname(self):
        network_info = nova_objects.with_dns(
            self.ports([driver_contract.V4], [driver_contract.OTHER_V4]), "10.71.0.2",
            "10.71.0.3")
        instance = self.boot_with(network_info)
        inspected = self.driver.engine.client.inspect_container(
            self.driver.engine.get(instance.uuid).id)
        self.assertEqual(["10.71.0.2", "10.71.0.3"], inspected["HostConfig"]["Dns"])
        self.assertEqual(["%s:10.71.0.10" % instance.hostname, "%s:10.72.0.10" % instance.hostname],
                         inspected["HostConfig"]["ExtraHosts"])
        self.assertEqual(instance.hostname, inspected["Config"]["Hostname"])
