import pytest

from tests.contract import supervisor_contract
from tests.unit import fakes


class TestFakeSupervisorContract(supervisor_contract.SupervisorClientContract):
    @pytest.fixture(autouse=True)
    def _client(self):
        self.client = fakes.FakeSupervisorClient({"demo:sleeper": "RUNNING"})
