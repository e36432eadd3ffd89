"""The engine contract against a real dockerd (same assertions as against the fake)."""

import unittest

from tests.contract import engine_contract
from tests.contract import tarballs
from tests.functional.virt_docker import base


class RealEngineContractTest(engine_contract.EngineContract, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        base.require_docker()
        if not tarballs.have_busybox():
            base.unavailable("busybox-static (/bin/busybox) is needed to build test images")
        cls._layer = tarballs.busybox_layer()

    def make_client(self):
        return base.require_docker()

    def layer(self):
        return self._layer
