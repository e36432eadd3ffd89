"""The container envelope: never privileged, minimal capabilities, flavor limits."""

import unittest

import docker

from hybridhost.virt.docker import limits


class LimitsTest(unittest.TestCase):

    def test_flavor_maps_to_memory_cpu_and_pids(self):
        envelope = limits.limits_for(512, 2, 100)
        self.assertEqual((512 * 1024 * 1024, 2 * 10 ** 9, 100),
                         (envelope.memory_bytes, envelope.nano_cpus, envelope.pids_limit))

    def test_host_config_is_confined(self):
        kwargs = limits.host_config_kwargs(limits.limits_for(64, 1, 50))
        rendered = docker.types.HostConfig(version="1.41", **kwargs)
        limits.check_host_config(rendered)
        self.assertEqual(["ALL"], rendered["CapDrop"])
        self.assertFalse(rendered.get("Privileged"))
        self.assertEqual(rendered["Memory"], rendered["MemorySwap"])
        self.assertEqual({"Name": "no"}, rendered["RestartPolicy"])
        self.assertEqual("none", rendered["NetworkMode"])
        self.assertNotIn("Binds", rendered)

    def test_dangerous_capabilities_are_refused(self):
        for cap in ("SYS_ADMIN", "cap_net_admin", "SYS_MODULE", "SYS_PTRACE", "MADE_UP"):
            self.assertRaises(ValueError, limits.check_caps, [cap])
        self.assertEqual(("NET_RAW",), limits.check_caps(["cap_net_raw"]))

    def test_check_host_config_refuses_unsafe_configs(self):
        good = docker.types.HostConfig(version="1.41", **limits.host_config_kwargs(
            limits.limits_for(64, 1, 50)))
        for change in ({"Privileged": True}, {"CapDrop": []}, {"SecurityOpt": []},
                       {"Binds": ["/var/run/docker.sock:/var/run/docker.sock"]},
                       {"Mounts": [{"Source": "/run/docker.sock"}]}, {"PidsLimit": 0},
                       {"CapAdd": ["SYS_ADMIN"]}):
            self.assertRaises(ValueError, limits.check_host_config, dict(good, **change))

    def test_tiny_flavors_are_refused(self):
        self.assertRaises(ValueError, limits.limits_for, 4, 1, 10)
        self.assertRaises(ValueError, limits.limits_for, 64, 0, 10)

    def test_ping_works_without_net_raw(self):
        """ICMP echo sockets for every group of the container's own network namespace."""
        kwargs = limits.host_config_kwargs(limits.limits_for(64, 1, 50))
        self.assertNotIn("NET_RAW", kwargs["cap_add"])
        rendered = docker.types.HostConfig(version="1.41", **kwargs)
        self.assertEqual("0 2147483647", rendered["Sysctls"]["net.ipv4.ping_group_range"])
