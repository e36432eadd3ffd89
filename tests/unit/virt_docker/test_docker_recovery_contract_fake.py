"""The recovery contract against DockerDriver on the fakes (engine client, OVS, privileged net)."""

from tests.contract import recovery_contract
from tests.unit.virt_docker import helpers


class FakeRecoveryContractTest(recovery_contract.RecoveryContract, helpers.DriverUnitTestCase):
    """helpers.DriverUnitTestCase is the harness: see tests/contract/driver_contract.py."""
