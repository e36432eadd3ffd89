"""The engine contract against the hand-written FakeDockerClient."""

import unittest

from tests.contract import engine_contract
from tests.contract import tarballs
from tests.unit.virt_docker import fakes


class FakeEngineContractTest(engine_contract.EngineContract, unittest.TestCase):

    def make_client(self):
        return fakes.FakeDockerClient()

    def layer(self):
        return tarballs.tiny_layer()
