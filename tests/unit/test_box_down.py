"""``hybridhost down`` with the Docker engine hung or gone: one warning, the box still goes down."""

import logging

import pytest

from hybridhost import box
from hybridhost import plan as box_plan
from hybridhost.cmd import main as cli
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import limits
from tests.unit import confutils
from tests.unit import fakes
from tests.unit.virt_docker import test_docker_engine_transport as transport

HOST = "box-docker"


@pytest.fixture
def conf_path(tmp_path):
    return confutils.write_conf(tmp_path)


class VanishingClient(transport.WedgedDockerClient):
    """dockerd goes away right after the first container it stops."""

    def stop(self, container, timeout=None):
        super().stop(container, timeout)
        self.failure = transport.REFUSED


class RefusingClient(transport.WedgedDockerClient):
    """dockerd answers, but refuses to stop any container."""

    def stop(self, container, timeout=None):
        raise self._conflict("cannot stop container %s: permission denied" % container)


def _engine_of(monkeypatch, client):
    """box's engine is ``client``'s; returns the list of (host, timeout) it was built for."""
    built = []

    def engine_for(conf, plan, timeout):
        built.append((plan.docker.host, timeout))
        return engine_mod.Engine(client, HOST, transport.URL)

    monkeypatch.setattr(box, "engine_for", engine_for)
    return built


def _running(client, count):
    image_id = client.add_image("busybox:latest")
    engine = engine_mod.Engine(client, HOST)
    host_config = limits.host_config_kwargs(limits.limits_for(64, 1, 64))
    for number in range(count):
        uuid = "uuid-%d" % number
        engine.create(uuid, "vm%d" % number, image_id, host_config)
        engine.start(uuid)


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records
            if r.name == "hybridhost.box" and r.levelno == logging.WARNING]


def test_a_hung_engine_is_one_warning_and_the_box_still_goes_down(
        monkeypatch, capsys, caplog, conf_path, request):
    client = transport.WedgedDockerClient()
    built = _engine_of(monkeypatch, client)
    supervisord = fakes.ProcessBackedSupervisorClient(
        {"host-services:dockerd": "RUNNING", "hybridhost:nova-compute-docker": "RUNNING"})
    request.addfinalizer(supervisord.process.kill)
    monkeypatch.setattr(box, "client_for", lambda conf, timeout=10: supervisord)
    _running(client, 1)
    client.failure = transport.READ_TIMEOUT
    code = cli.main(["--config-file", conf_path, "down"])
    out, err = capsys.readouterr()
    assert (code, out) == (0, "box stopped: 0 container(s) stopped.\n")
    assert "Traceback" not in err
    assert _warnings(caplog) == [
        "The Docker side's containers were not all stopped (0 were; dockerd may keep the "
        "others running): The Docker engine at %s is not usable: no answer within 30 s to "
        "list containers" % transport.URL]
    assert supervisord.process.poll() is not None
    assert built == [(HOST, 30)]


def test_an_engine_lost_midway_keeps_count_of_what_was_stopped(monkeypatch, tmp_path, caplog):
    conf = confutils.load(tmp_path)
    client = VanishingClient()
    _engine_of(monkeypatch, client)
    _running(client, 2)
    assert box.stop_containers(conf, box_plan.build(conf)) == 1
    assert [c["State"]["Status"] for c in client.containers_by_id.values()].count("exited") == 1
    assert _warnings(caplog)[0].startswith(
        "The Docker side's containers were not all stopped (1 were")


def test_a_container_docker_refuses_to_stop_is_one_warning_each(monkeypatch, tmp_path, caplog):
    conf = confutils.load(tmp_path)
    client = RefusingClient()
    _engine_of(monkeypatch, client)
    _running(client, 2)
    assert box.stop_containers(conf, box_plan.build(conf)) == 0
    assert len(_warnings(caplog)) == 2
    assert all("permission denied" in warning for warning in _warnings(caplog))


def test_without_a_managed_dockerd_the_engine_is_not_asked(monkeypatch, tmp_path):
    conf = confutils.load(tmp_path, "[host]\nmanage_services = false\n")
    built = _engine_of(monkeypatch, transport.WedgedDockerClient())
    assert box.stop_containers(conf, box_plan.build(conf)) == 0
    assert built == []
