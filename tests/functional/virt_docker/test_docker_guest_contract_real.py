"""The guest contract (keypair, config drive, resolver) on the real dockerd and OVS."""

from tests.contract import guest_contract
from tests.functional.virt_docker import base


class RealGuestContractTest(guest_contract.GuestContract, base.DriverTestCase):
    """base.DriverTestCase is the harness: see tests/contract/driver_contract.py."""

    host = "hhtest-guestc-docker"  # its own containers: other test runs clean up theirs
