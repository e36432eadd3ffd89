"""The contract of the OVSDB seam (:class:`hybridhost.virt.docker.ovs.OvsPorts`).

:class:`OvsPortsContract` holds what the VIF plugger and the driver rely on. A
subclass sets ``bridge`` (an existing bridge of its own) and provides
``make_ports(owner)`` (the seam as service ``owner`` sees the one switch) and
``make_link(name)`` (a network device ``name`` on the host, removed after the test).
``tests/unit/virt_docker/test_plumbing_contracts_fake.py`` runs it against
``FakeOvsPorts``, ``tests/functional/virt_docker/test_plumbing_contracts_real.py``
against a real OVSDB and ovs-vswitchd: the fake cannot drift from them.
"""

import uuid as uuidlib

from hybridhost import exception
from hybridhost import privileged

MINE = "hh-contract-a"
THEIRS = "hh-contract-b"
MAC = "fa:16:3e:00:00:aa"
OTHER_MAC = "fa:16:3e:00:00:bb"


class OvsPortsContract:
    """Mixin for unittest.TestCase; see the module docstring for what a subclass sets."""

    bridge = None

    def make_ports(self, owner):
        raise NotImplementedError

    def make_link(self, name):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.mine = self.make_ports(MINE)
        self.theirs = self.make_ports(THEIRS)

    def name(self, link=True):
        """A fresh port name (with a host device unless ``link`` is false); its row goes
        after the test."""
        name = privileged.vif_prefix() + uuidlib.uuid4().hex[:8]
        if link:
            self.make_link(name)
        self.addCleanup(self.mine.delete_port, name)
        self.addCleanup(self.theirs.delete_port, name)
        return name

    def test_a_port_carries_the_agents_ids_and_its_owner(self):
        name = self.name()
        self.mine.add_port(self.bridge, name, "port-1", MAC, "vm-1", mtu=1400)
        port = self.mine.get_port(name)
        self.assertEqual((name, self.bridge, "port-1", MAC, "vm-1", MINE),
                         (port.name, port.bridge, port.iface_id, port.mac, port.vm_uuid,
                          port.owner))
        self.assertGreater(port.ofport, 0)
        self.assertEqual(port, self.theirs.get_port(name))

    def test_all_ports_reads_each_row_as_get_port_does(self):
        mine, theirs = self.name(), self.name()
        self.mine.add_port(self.bridge, mine, "port-1", MAC, "vm-1")
        self.theirs.add_port(self.bridge, theirs, "port-2", OTHER_MAC, "vm-2")
        every = self.mine.all_ports()
        self.assertEqual(self.mine.get_port(mine), every[mine])
        self.assertEqual(self.mine.get_port(theirs), every[theirs])
        self.assertTrue(self.mine.delete_port(mine))
        self.assertNotIn(mine, self.mine.all_ports())

    def test_only_own_ports_are_listed_and_deleted(self):
        mine, theirs = self.name(), self.name()
        self.mine.add_port(self.bridge, mine, "port-1", MAC, "vm-1")
        self.theirs.add_port(self.bridge, theirs, "port-2", OTHER_MAC, "vm-2")
        self.assertEqual([mine], [p.name for p in self.mine.list_own_ports()])
        self.assertEqual([theirs], [p.name for p in self.theirs.list_own_ports()])
        self.assertFalse(self.mine.delete_port(theirs))
        self.assertEqual(THEIRS, self.mine.get_port(theirs).owner)
        self.assertTrue(self.mine.delete_port(mine))
        self.assertIsNone(self.mine.get_port(mine))
        self.assertFalse(self.mine.delete_port(mine))

    def test_adding_a_port_again_replaces_its_row(self):
        name = self.name()
        self.theirs.add_port(self.bridge, name, "port-1", MAC, "vm-1")
        self.mine.add_port(self.bridge, name, "port-2", OTHER_MAC, "vm-2")
        port = self.mine.get_port(name)
        self.assertEqual(("port-2", OTHER_MAC, "vm-2", MINE),
                         (port.iface_id, port.mac, port.vm_uuid, port.owner))
        self.assertGreater(port.ofport, 0)

    def test_bridges(self):
        self.assertTrue(self.mine.bridge_exists(self.bridge))
        self.assertFalse(self.mine.bridge_exists("br-hh-absent"))
        self.mine.require_bridge(self.bridge)
        self.assertRaises(exception.BridgeMissing, self.mine.require_bridge, "br-hh-absent")

    def test_a_port_on_a_missing_bridge_is_refused(self):
        name = self.name()
        self.assertRaises(exception.OvsdbOperationFailed, self.mine.add_port, "br-hh-absent",
                          name, "port-1", MAC, "vm-1")
        self.assertIsNone(self.mine.get_port(name))

    def test_a_port_without_a_host_device_gets_no_openflow_port(self):
        """ovs-vswitchd keeps the row (ofport -1); only its owner's delete removes it."""
        name = self.name(link=False)
        self.assertRaises(exception.OvsdbOperationFailed, self.mine.add_port, self.bridge, name,
                          "port-1", MAC, "vm-1")
        self.assertEqual(-1, self.mine.get_port(name).ofport)
        self.assertTrue(self.mine.delete_port(name))
        self.assertIsNone(self.mine.get_port(name))
