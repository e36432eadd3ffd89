"""The guest contract (keypair, config drive, resolver) on the fakes."""

from tests.contract import guest_contract
from tests.unit.virt_docker import helpers


class FakeGuestContractTest(guest_contract.GuestContract, helpers.DriverUnitTestCase):
    """helpers.DriverUnitTestCase is the harness: see tests/contract/driver_contract.py."""
