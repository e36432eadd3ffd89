from hybridhost import plan as box_plan
from tests.unit import confutils


class TestPlan:
    def test_names_default_from_the_box(self, tmp_path):
        plan = box_plan.build(confutils.load(tmp_path))
        assert (plan.docker.host, plan.kvm.host) == ("box-docker", "box-kvm")
        assert plan.docker.nodename == "box-docker"
        assert plan.kvm.nodename == "box"
        assert plan.agent.host == plan.kvm.host

    def test_default_split_is_half_each_after_the_reserve(self, tmp_path):
        plan = box_plan.build(confutils.load(tmp_path))
        assert plan.docker.share == box_plan.Capacity(4, 15360, 95)
        assert plan.kvm.share == box_plan.Capacity(4, 15360, 95)
        assert plan.docker.share + plan.kvm.share + plan.reserve == plan.machine

    def test_explicit_docker_share_leaves_the_rest_to_kvm(self, tmp_path):
        conf = confutils.load(tmp_path, "[host]\ndocker_vcpus = 2\ndocker_memory_mb = 4096\n")
        plan = box_plan.build(conf)
        assert plan.docker.share.vcpus == 2 and plan.kvm.share.vcpus == 6
        assert plan.docker.share.memory_mb == 4096
        assert plan.kvm.share.memory_mb == 32768 - 2048 - 4096

    def test_odd_leftovers_go_to_kvm(self, tmp_path):
        conf = confutils.load(tmp_path, "[host]\ntotal_vcpus = 3\n")
        plan = box_plan.build(conf)
        assert (plan.docker.share.vcpus, plan.kvm.share.vcpus) == (1, 2)

    def test_detection_used_only_for_unset_totals(self, tmp_path):
        conf = confutils.load(tmp_path, "[host]\ntotal_vcpus = 0\n")
        plan = box_plan.build(conf, detected=box_plan.Detected(
            machine=box_plan.Capacity(16, 1, 1), libvirt=box_plan.Capacity(12, 2, 2)))
        assert plan.machine == box_plan.Capacity(16, 32768, 200)
        assert plan.libvirt == box_plan.Capacity(12, 32768, 200)

    def test_configured_totals_stand_for_libvirt_too(self, tmp_path):
        """Without detection the render cannot depend on the machine it runs on."""
        plan = box_plan.build(confutils.load(tmp_path), detected=box_plan.Detected(
            machine=box_plan.Capacity(2, 1, 1), libvirt=box_plan.Capacity(2, 1, 1)))
        assert plan.machine == plan.libvirt == box_plan.Capacity(8, 32768, 200)

    def test_real_machine_detection(self, tmp_path):
        detected = box_plan.detect(str(tmp_path / "not" / "yet"))
        machine = detected.machine
        assert machine.vcpus >= 1 and machine.memory_mb > 256 and machine.disk_gb >= 1
        assert (detected.libvirt.vcpus, detected.libvirt.disk_gb) == (
            machine.vcpus, machine.disk_gb)
        assert detected.libvirt.memory_mb >= 1

    def test_each_side_has_its_own_paths(self, tmp_path):
        plan = box_plan.build(confutils.load(tmp_path))
        for attr in ("state_path", "instances_path", "lock_path", "log_file",
                     "config_file"):
            assert getattr(plan.docker, attr) != getattr(plan.kvm, attr)


class TestNumaMemory:
    def test_sums_the_numa_cells_like_libvirt(self, tmp_path):
        for node, kb in (("node0", 10315980), ("node1", 1048576)):
            (tmp_path / node).mkdir()
            (tmp_path / node / "meminfo").write_text(
                "Node %s MemTotal:       %d kB\nNode %s MemFree: 1 kB\n" % (node[-1], kb, node[-1]))
        assert box_plan.numa_memory_mb(str(tmp_path / "node*" / "meminfo")) == (
            10315980 + 1048576) // 1024

    def test_none_without_numa_information(self, tmp_path):
        assert box_plan.numa_memory_mb(str(tmp_path / "node*" / "meminfo")) is None
