"""The driver contract against DockerDriver on the fakes (engine client, OVS, privileged net)."""

from tests.contract import driver_contract
from tests.unit.virt_docker import helpers


class FakeDriverContractTest(driver_contract.DriverContract, helpers.DriverUnitTestCase):
    """helpers.DriverUnitTestCase is the harness: see tests/contract/driver_contract.py."""
