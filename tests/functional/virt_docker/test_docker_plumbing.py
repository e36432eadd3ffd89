"""The driver's shim into nova, for real.

The OVSDB adapter and the privsep boundary run their contracts in
test_plumbing_contracts_real.py; the driver's in test_docker_driver_contract_real.py.
"""

import importlib.util
import unittest

from tests.functional.virt_docker import base


class ShimTest(unittest.TestCase):

    def test_nova_loads_the_driver_by_its_short_name(self):
        """compute_driver = hybridhost_docker.DockerDriver resolves through nova.virt."""
        if importlib.util.find_spec("nova.virt.hybridhost_docker") is None:
            base.unavailable("the nova.virt.hybridhost_docker shim is not installed "
                             "(pip install --no-deps . into the venv)")
        from nova.virt import driver as nova_driver

        from hybridhost.virt.docker import driver as driver_mod

        loaded = nova_driver.load_compute_driver(None, "hybridhost_docker.DockerDriver")
        self.assertIsInstance(loaded, driver_mod.DockerDriver)
