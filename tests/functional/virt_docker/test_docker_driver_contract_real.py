"""The driver contract against DockerDriver on the real dockerd, OVS and privsep daemon."""

from tests.contract import driver_contract
from tests.functional.virt_docker import base


class RealDriverContractTest(driver_contract.DriverContract, base.DriverTestCase):
    """base.DriverTestCase is the harness: see tests/contract/driver_contract.py."""
