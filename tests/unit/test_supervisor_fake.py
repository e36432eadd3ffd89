import pytest

from tests.contract import supervisor_contract
from tests.unit import fakes


class TestFakeSupervisorContract(supervisor_contract.SupervisorClientContract):
    @pytest.fixture(autouse=True)
    def _client(self):
        self.client = fakes.FakeSupervisorClient(
            {supervisor_contract.SLEEPER: "RUNNING", supervisor_contract.QUITTER: "STOPPED",
             supervisor_contract.MISSING: "STOPPED"},
            cannot_spawn=[supervisor_contract.QUITTER], no_file=[supervisor_contract.MISSING])
