"""'down' powers the containers off only once nova-compute-docker cannot see it happen,
so nova still records the instances as running and resumes them at the next 'up'."""

import signal
import subprocess

import psutil
import pytest

from hybridhost import box
from hybridhost import exception
from hybridhost import plan as box_plan
from tests.unit import confutils
from tests.unit import fakes

DOCKER_PROGRAM = "hybridhost:nova-compute-docker"
KVM_PROGRAM = "hybridhost:nova-compute-kvm"


def _box(tmp_path, extra=""):
    conf = confutils.load(tmp_path, extra)
    supervisord = fakes.ProcessBackedSupervisorClient(
        {DOCKER_PROGRAM: "RUNNING", KVM_PROGRAM: "RUNNING"})
    return conf, box_plan.build(conf), supervisord


class TestStopDockerCompute:
    def test_it_is_stopped_when_the_box_runs_dockerd(self, tmp_path):
        conf, plan, supervisord = _box(tmp_path)
        assert box.stop_docker_compute(conf, plan, supervisord)
        assert supervisord.state_of(DOCKER_PROGRAM) == "STOPPED"
        assert supervisord.state_of(KVM_PROGRAM) == "RUNNING"
        assert not box.stop_docker_compute(conf, plan, supervisord)  # already stopped

    def test_it_is_left_to_stop_all_when_the_containers_stay_up(self, tmp_path):
        conf, plan, supervisord = _box(tmp_path, "[host]\nmanage_services = false\n")
        assert not box.stop_docker_compute(conf, plan, supervisord)
        assert supervisord.state_of(DOCKER_PROGRAM) == "RUNNING"


class TestStopKvmCompute:
    def test_it_is_stopped_when_the_box_runs_libvirtd(self, tmp_path):
        conf, plan, supervisord = _box(tmp_path)
        assert box.stop_kvm_compute(conf, plan, supervisord)
        assert supervisord.state_of(KVM_PROGRAM) == "STOPPED"
        assert supervisord.state_of(DOCKER_PROGRAM) == "RUNNING"
        assert not box.stop_kvm_compute(conf, plan, supervisord)

    def test_it_is_left_running_when_libvirtd_is_not_the_boxs(self, tmp_path):
        conf, plan, supervisord = _box(tmp_path, "[host]\nmanage_services = false\n")
        assert not box.stop_kvm_compute(conf, plan, supervisord)
        assert supervisord.state_of(KVM_PROGRAM) == "RUNNING"


class TestDown:
    def test_nova_compute_docker_is_stopped_before_the_containers(self, tmp_path,
                                                                   monkeypatch):
        conf, plan, supervisord = _box(tmp_path)
        seen = []

        def stop_containers(conf, plan, timeout=10):
            seen.append(supervisord.state_of(DOCKER_PROGRAM))
            return 2

        monkeypatch.setattr(box, "client_for", lambda conf, timeout: supervisord)
        monkeypatch.setattr(box, "stop_containers", stop_containers)
        containers, leftovers = box.down(conf, plan, stop_timeout=5)
        assert (containers, seen) == (2, ["STOPPED"])
        assert leftovers == []
        with pytest.raises(exception.SupervisorUnreachable):
            supervisord.state()  # supervisord itself is down


class RecordingSupervisor(fakes.FakeSupervisorClient):
    """The fake supervisord, recording which programs each stop call ended."""

    def __init__(self, programs):
        super().__init__(programs)
        self.stops = []

    def _record(self, call, stop):
        before = {p.full_name for p in self.programs() if p.running}
        result = stop()
        after = {p.full_name for p in self.programs() if p.running}
        self.stops.append((call, sorted(before - after)))
        return result

    def stop_group(self, group, wait=True):
        return self._record(group, lambda: super(RecordingSupervisor, self).stop_group(
            group, wait))

    def stop_all(self):
        return self._record("all", super().stop_all)


class TestStopInOrder:
    def test_computes_and_agent_then_the_services_then_the_bus_and_host_daemons(self):
        supervisord = RecordingSupervisor({
            "hybridhost-watcher:hybridhost-watcher": "RUNNING",
            "hybridhost:neutron-openvswitch-agent": "RUNNING", KVM_PROGRAM: "RUNNING",
            "control-plane:nova-api": "RUNNING", "lab-infra:rabbitmq": "RUNNING",
            "host-services:libvirtd": "RUNNING"})
        box.stop_in_order(supervisord)
        assert supervisord.stops == [
            ("hybridhost-watcher", ["hybridhost-watcher:hybridhost-watcher"]),
            ("hybridhost", ["hybridhost:neutron-openvswitch-agent", KVM_PROGRAM]),
            ("control-plane", ["control-plane:nova-api"]),
            ("all", ["host-services:libvirtd", "lab-infra:rabbitmq"])]

    def test_a_box_without_the_lab_or_the_watcher_skips_their_groups(self):
        supervisord = RecordingSupervisor({KVM_PROGRAM: "RUNNING",
                                           "host-services:libvirtd": "RUNNING"})
        box.stop_in_order(supervisord)
        assert supervisord.stops == [("hybridhost", [KVM_PROGRAM]),
                                     ("all", ["host-services:libvirtd"])]


class TestKillLeftovers:
    @staticmethod
    def _sleeper():
        child = subprocess.Popen(["sleep", "60"])
        return child, psutil.Process(child.pid)

    def test_a_process_still_running_is_killed(self):
        child, process = self._sleeper()
        assert box.kill_leftovers([process]) == [process]
        assert process.returncode == -signal.SIGKILL  # set by psutil.wait_procs

    def test_a_process_that_ended_meanwhile_is_gone_not_an_error(self):
        ended, ended_process = self._sleeper()
        ended.kill()
        ended.wait()  # reaped: its name can no longer be read
        child, process = self._sleeper()
        assert box.kill_leftovers([ended_process, process]) == [process]
        assert process.returncode == -signal.SIGKILL  # set by psutil.wait_procs
