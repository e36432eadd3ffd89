"""'down' powers the containers off only once nova-compute-docker cannot see it happen."""

from hybridhost import box
from hybridhost import plan as box_plan
from hybridhost.virt.docker import engine as engine_mod
from hybridhost.virt.docker import limits
from tests.unit import confutils
from tests.unit import fakes
from tests.unit.virt_docker import fakes as docker_fakes

DOCKER_PROGRAM = "hybridhost:nova-compute-docker"
SAFE = limits.host_config_kwargs(limits.limits_for(64, 1, 64))


class RecordingEngine(engine_mod.Engine):
    """The engine adapter on the fake client; remembers nova-compute-docker's state at
    each stop."""

    def __init__(self, client, host, supervisor):
        super().__init__(client, host)
        self.supervisor = supervisor
        self.seen = []

    def stop(self, uuid, timeout):
        states = {p.full_name: p.state for p in self.supervisor.programs()}
        self.seen.append((uuid, states[DOCKER_PROGRAM]))
        super().stop(uuid, timeout)


def _setup(tmp_path, extra=""):
    conf = confutils.load(tmp_path, extra)
    plan = box_plan.build(conf)
    supervisor = fakes.FakeSupervisorClient({DOCKER_PROGRAM: "RUNNING",
                                             "hybridhost:nova-compute-kvm": "RUNNING"})
    engine = RecordingEngine(docker_fakes.FakeDockerClient(), plan.docker.host, supervisor)
    image = engine.client.add_image()
    for uuid in ("u-running", "u-stopped"):
        engine.create(uuid, "n", image, SAFE)
    engine.start("u-running")
    return conf, plan, supervisor, engine


class TestStopContainers:
    def test_nova_compute_docker_is_stopped_before_any_container(self, tmp_path):
        conf, plan, supervisor, engine = _setup(tmp_path)
        assert box.stop_containers(conf, plan, supervisor, engine=engine) == 1
        assert engine.seen == [("u-running", "STOPPED")]
        assert engine.get("u-running").status == "exited"
        states = {p.full_name: p.state for p in supervisor.programs()}
        assert states["hybridhost:nova-compute-kvm"] == "RUNNING"

    def test_nothing_is_touched_when_dockerd_is_not_the_boxs(self, tmp_path):
        conf, plan, supervisor, engine = _setup(tmp_path, "[host]\nmanage_services = false\n")
        assert box.stop_containers(conf, plan, supervisor, engine=engine) == 0
        assert engine.get("u-running").status == "running"
        assert {p.full_name: p.state for p in supervisor.programs()}[DOCKER_PROGRAM] == "RUNNING"

    def test_an_already_stopped_nova_compute_is_fine(self, tmp_path):
        conf, plan, supervisor, engine = _setup(tmp_path)
        supervisor.stop(DOCKER_PROGRAM)
        assert box.stop_containers(conf, plan, supervisor, engine=engine) == 1
