"""What a dockerd restart without live-restore stopped is started again, and only that."""

import dataclasses

from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import limits
from hybridhost.virt.docker import revive
from tests.unit.virt_docker import fakes

SAFE = limits.host_config_kwargs(limits.limits_for(64, 1, 64))


@dataclasses.dataclass
class _Instance:
    uuid: str
    vm_state: str
    task_state: str | None = None


def _engine(running, exited):
    client = fakes.FakeDockerClient()
    engine = engine_mod.Engine(client, "me")
    image = client.add_image()
    for uuid in running + exited:
        engine.create(uuid, "n", image, SAFE)
        engine.start(uuid)
    for uuid in exited:
        engine.stop(uuid, 1)
    return engine


def test_only_exited_containers_nova_records_running_are_started():
    engine = _engine(["up"], ["stopped-by-dockerd", "stopped-by-nova"])
    asked = []

    def says_running(uuids):
        asked.append(sorted(uuids))
        return [u for u in uuids if u == "stopped-by-dockerd"]

    started = revive.revive(engine, says_running, engine.start)
    assert started == ["stopped-by-dockerd"]
    assert asked == [["stopped-by-dockerd", "stopped-by-nova"]]
    assert {u: engine.get(u).status for u in ("up", "stopped-by-dockerd", "stopped-by-nova")} \
        == {"up": "running", "stopped-by-dockerd": "running", "stopped-by-nova": "exited"}


def test_one_that_cannot_start_does_not_stop_the_others():
    engine = _engine([], ["a", "b"])

    def start(uuid):
        if uuid == "a":
            raise RuntimeError("no")
        engine.start(uuid)

    assert revive.revive(engine, lambda uuids: uuids, start) == ["b"]


def test_nothing_exited_asks_nova_nothing():
    def says_running(uuids):
        raise AssertionError("nova asked about %s" % uuids)

    assert revive.revive(_engine(["up"], []), says_running, None) == []


def test_nova_records_running_only_active_instances_with_no_task():
    instances = [_Instance("a", "active"), _Instance("b", "stopped"),
                 _Instance("c", "active", "powering-off"), _Instance("d", "shelved")]
    assert revive.recorded_running(instances) == ["a"]
