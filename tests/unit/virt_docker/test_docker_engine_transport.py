"""The engine adapter turns a failing transport (dockerd hung or gone) into DockerUnavailable."""

import unittest

import requests
from urllib3 import exceptions as urllib3_exceptions

from hybridhost import exception
from hybridhost.virt.docker import engine as engine_mod
from tests.unit.virt_docker import fakes

URL = "unix:///var/run/docker.sock"
HOST = "hh-transport"
READ_TIMEOUT = requests.exceptions.ReadTimeout(
    "UnixHTTPConnectionPool(host='localhost', port=None): Read timed out. (read timeout=30)")
REFUSED = requests.exceptions.ConnectionError(urllib3_exceptions.ProtocolError(
    "Connection aborted.", ConnectionRefusedError(111, "Connection refused")))
CUT_SHORT = requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")


class WedgedDockerClient(fakes.FakeDockerClient):
    """A FakeDockerClient whose transport fails once ``failure`` is set, as requests
    fails when dockerd hangs (ReadTimeout after ``timeout`` s) or is gone."""

    timeout = 30

    def __init__(self):
        super().__init__()
        self.failure = None

    def _transport(self):
        if self.failure is not None:
            raise self.failure

    def version(self, api_version=True):
        self._transport()
        return super().version(api_version)

    def containers(self, quiet=False, all=False, filters=None, **kwargs):
        self._transport()
        return super().containers(quiet, all, filters, **kwargs)

    def inspect_container(self, container):
        self._transport()
        return super().inspect_container(container)

    def stop(self, container, timeout=None):
        self._transport()
        return super().stop(container, timeout)


class EngineTransportTest(unittest.TestCase):

    def setUp(self):
        self.client = WedgedDockerClient()
        self.engine = engine_mod.Engine(self.client, HOST, URL)

    def unavailable(self, failure, call, *args):
        self.client.failure = failure
        with self.assertRaises(exception.DockerUnavailable) as caught:
            call(*args)
        self.assertIs(failure, caught.exception.__cause__)
        return str(caught.exception)

    def test_a_read_timeout_says_how_long_and_what_was_asked(self):
        message = self.unavailable(READ_TIMEOUT, self.engine.list_own)
        self.assertEqual("The Docker engine at %s is not usable: no answer within 30 s to "
                         "list containers" % URL, message)

    def test_a_refused_or_cut_connection_names_the_engine(self):
        for failure in (REFUSED, CUT_SHORT):
            message = self.unavailable(failure, self.engine.find, "some-uuid")
            self.assertIn(URL, message)
            self.assertIn(str(failure), message)

    def test_every_operation_is_translated(self):
        self.assertIn("report its version", self.unavailable(READ_TIMEOUT, self.engine.check,
                                                             "1.41"))
        self.assertIn("inspect nova-x", self.unavailable(READ_TIMEOUT, self.engine.get, "x"))

    def test_a_refusal_by_docker_stays_an_operation_failure(self):
        self.assertRaises(exception.ContainerNotFound, self.engine.stop, "no-such-uuid", 1)
