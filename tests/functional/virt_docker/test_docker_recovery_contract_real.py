"""The recovery contract against DockerDriver on the real dockerd, OVS and privsep daemon."""

from tests.contract import recovery_contract
from tests.functional.virt_docker import base


class RealRecoveryContractTest(recovery_contract.RecoveryContract, base.DriverTestCase):
    """base.DriverTestCase is the harness: see tests/contract/driver_contract.py."""

    host = "hhtest-recovery-docker"  # its own containers: other test runs clean up theirs
