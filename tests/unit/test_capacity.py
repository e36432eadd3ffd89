"""The capacity ledger: per-side allocation ratios, RAM from the kernel, the libvirt
side's offer whatever libvirt reports, and what fits on this machine kind."""

import configparser

import pytest

from hybridhost import conf as hh_conf
from hybridhost import exception
from hybridhost import plan as box_plan
from hybridhost import render
from hybridhost.lab import bootstrap
from hybridhost.lab import demo
from hybridhost.render import rules
from tests.unit import confutils

# A box whose totals are detected (the lab's hybridhost.conf sets none).
DETECTING = """
[host]
name = box
kvm_nodename = box

[paths]
config_dir = {tmp}/etc
state_root = {tmp}/state
log_root = {tmp}/log
run_root = {tmp}/run
bin_dir = /venv/bin
"""
# This machine kind: 2 vCPU, 24 GiB, 250 GiB of disk; libvirt's NUMA cells add up to
# 7.3 GiB (memory is hot-plugged, and the figure moves while the machine runs).
KERNEL = box_plan.Capacity(2, 24105, 250)
NUMA_MB = 7475


def _libvirt(memory_mb):
    return box_plan.Detected(machine=KERNEL, libvirt=box_plan.Capacity(2, memory_mb, 250))


def _detecting(tmp_path, extra=""):
    path = confutils.write_conf(tmp_path, extra, base=DETECTING)
    return hh_conf.load(["--config-file", path], default_config_files=[])


def _ini(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def _default(files, name):
    return _ini(files[name])["DEFAULT"]


class TestRatioOptions:
    def test_defaults_suit_each_side(self, tmp_path):
        host = confutils.load(tmp_path).host
        assert (host.docker_cpu_allocation_ratio, host.docker_ram_allocation_ratio,
                host.docker_disk_allocation_ratio) == (128.0, 1.0, 1.0)
        assert (host.kvm_cpu_allocation_ratio, host.kvm_ram_allocation_ratio,
                host.kvm_disk_allocation_ratio) == (4.0, 1.0, 1.0)

    def test_every_ratio_has_help_and_bounds(self):
        ratios = [opt for opt in hh_conf.host_opts if opt.name.endswith("_allocation_ratio")]
        assert len(ratios) == 6
        for opt in ratios:
            assert opt.help and opt.type.min == 1.0 and opt.type.max >= 4.0, opt.name

    def test_a_container_box_may_go_far_beyond_64(self, tmp_path):
        conf = confutils.load(tmp_path, "[host]\ndocker_cpu_allocation_ratio = 1024\n")
        assert conf.host.docker_cpu_allocation_ratio == 1024.0

    @pytest.mark.parametrize("text, option", [
        ("docker_cpu_allocation_ratio = 1025", "[host] docker_cpu_allocation_ratio"),
        ("kvm_cpu_allocation_ratio = 65", "[host] kvm_cpu_allocation_ratio"),
        ("docker_ram_allocation_ratio = 0.5", "[host] docker_ram_allocation_ratio"),
        ("kvm_disk_allocation_ratio = 0", "[host] kvm_disk_allocation_ratio"),
    ])
    def test_out_of_bounds_is_refused(self, tmp_path, text, option):
        with pytest.raises(exception.ConfigInvalid) as info:
            confutils.load(tmp_path, "[host]\n%s\n" % text)
        assert option in str(info.value)

    def test_the_old_name_sets_the_libvirt_side_only(self, tmp_path):
        """[host] cpu_allocation_ratio is the deprecated name of kvm_cpu_allocation_ratio;
        a file that uses it still loads, and the Docker side keeps its own default."""
        conf = confutils.load(tmp_path, "[host]\ncpu_allocation_ratio = 8\n")
        assert conf.host.kvm_cpu_allocation_ratio == 8.0
        assert conf.host.docker_cpu_allocation_ratio == 128.0
        _plan, files = render.render(conf)
        assert _default(files, rules.KVM_CONF)["cpu_allocation_ratio"] == "8.0"
        assert _default(files, rules.DOCKER_CONF)["cpu_allocation_ratio"] == "128.0"

    def test_the_old_name_is_bounded_as_the_new_one(self, tmp_path):
        with pytest.raises(exception.ConfigInvalid) as info:
            confutils.load(tmp_path, "[host]\ncpu_allocation_ratio = 100\n")
        assert "[host] kvm_cpu_allocation_ratio" in str(info.value)


class TestRatiosRendered:
    def test_each_side_gets_its_own_ratios(self, tmp_path):
        plan, files = render.render(confutils.load(
            tmp_path, "[host]\ndocker_cpu_allocation_ratio = 256\n"
                      "docker_ram_allocation_ratio = 1.5\nkvm_cpu_allocation_ratio = 2\n"
                      "kvm_disk_allocation_ratio = 3\n"))
        docker, kvm = _default(files, rules.DOCKER_CONF), _default(files, rules.KVM_CONF)
        assert [docker["%s_allocation_ratio" % r] for r in ("cpu", "ram", "disk")] == [
            "256.0", "1.5", "1.0"]
        assert [kvm["%s_allocation_ratio" % r] for r in ("cpu", "ram", "disk")] == [
            "2.0", "1.0", "3.0"]
        assert plan.docker.ratios == box_plan.Ratios(256.0, 1.5, 1.0)
        assert plan.docker.holds == box_plan.Capacity(4 * 256, int(15360 * 1.5), 95)

    def test_a_rendered_ratio_the_plan_does_not_have_is_refused(self, tmp_path):
        plan, files = render.render(confutils.load(tmp_path))
        files = dict(files)
        files[rules.DOCKER_CONF] = files[rules.DOCKER_CONF].replace(
            "cpu_allocation_ratio = 128.0", "cpu_allocation_ratio = 4.0", 1)
        with pytest.raises(exception.RenderRuleBroken, match="inventory equals offer"):
            rules.check_all(files, plan)


class TestLedger:
    def test_ram_is_the_kernels_not_libvirts(self, tmp_path):
        plan = box_plan.build(_detecting(tmp_path), detected=_libvirt(NUMA_MB))
        assert plan.machine == KERNEL
        assert plan.docker.share.memory_mb == (24105 - 2048) // 2 == plan.docker.offer.memory_mb

    def test_libvirt_below_the_share_reserves_nothing_and_offers_what_it_reports(
            self, tmp_path):
        plan = box_plan.build(_detecting(tmp_path), detected=_libvirt(NUMA_MB))
        assert plan.kvm.share.memory_mb == 11029
        assert plan.kvm.reserved.memory_mb == 0
        assert plan.kvm.offer.memory_mb == NUMA_MB

    def test_libvirt_above_the_share_reserves_the_excess(self, tmp_path):
        plan = box_plan.build(_detecting(tmp_path), detected=_libvirt(20000))
        assert plan.kvm.reserved.memory_mb == 20000 - 11029
        assert plan.kvm.offer.memory_mb == plan.kvm.share.memory_mb

    def test_kvm_offer_rule_per_resource(self):
        share = box_plan.Capacity(4, 8000, 100)
        offer, reserved = box_plan.kvm_offer(share, box_plan.Capacity(2, 9000, 100))
        assert offer == box_plan.Capacity(2, 8000, 100)
        assert reserved == box_plan.Capacity(0, 1000, 0)

    def test_vcpus_and_disk_follow_the_same_rule(self, tmp_path):
        plan = box_plan.build(_detecting(tmp_path), detected=_libvirt(NUMA_MB))
        assert plan.kvm.share == box_plan.Capacity(1, 11029, 120)
        assert plan.kvm.reserved == box_plan.Capacity(1, 0, 130)
        assert plan.kvm.offer == box_plan.Capacity(1, NUMA_MB, 120)

    def test_the_docker_side_offers_its_share_and_reserves_nothing(self, tmp_path):
        plan = box_plan.build(_detecting(tmp_path), detected=_libvirt(NUMA_MB))
        assert plan.docker.offer == plan.docker.share
        assert plan.docker.reserved == box_plan.Capacity(0, 0, 0)

    def test_shares_beyond_the_machine_are_still_refused(self, tmp_path):
        with pytest.raises(exception.RenderRuleBroken, match="capacity"):
            render.render(_detecting(tmp_path, "[host]\ndocker_memory_mb = 20000\n"
                                                          "kvm_memory_mb = 3000\n"),
                          detected=_libvirt(NUMA_MB))

    def test_a_kvm_share_beyond_libvirts_figure_is_not_refused(self, tmp_path):
        """libvirt's figure limits what the side offers, not the ledger."""
        plan, _files = render.render(_detecting(tmp_path), detected=_libvirt(1024))
        assert plan.kvm.offer.memory_mb == 1024


class TestRenderedInventory:
    def test_render_does_not_depend_on_libvirt_below_the_share(self, tmp_path):
        conf = _detecting(tmp_path)
        _plan, first = render.render(conf, detected=_libvirt(5300))
        _plan, second = render.render(conf, detected=_libvirt(NUMA_MB))
        assert first == second
        assert _default(first, rules.KVM_CONF)["reserved_host_memory_mb"] == "0"

    def test_reserved_is_what_libvirt_reports_beyond_the_share(self, tmp_path):
        _plan, files = render.render(_detecting(tmp_path), detected=_libvirt(20000))
        kvm = _default(files, rules.KVM_CONF)
        assert kvm["reserved_host_memory_mb"] == str(20000 - 11029)
        assert kvm["reserved_host_cpus"] == "1"
        assert kvm["reserved_host_disk_mb"] == str(130 * 1024)

    def test_a_reservation_reaching_libvirts_total_is_refused(self, tmp_path):
        plan, files = render.render(_detecting(tmp_path), detected=_libvirt(NUMA_MB))
        files = dict(files)
        files[rules.KVM_CONF] = files[rules.KVM_CONF].replace(
            "reserved_host_memory_mb = 0", "reserved_host_memory_mb = %d" % NUMA_MB, 1)
        with pytest.raises(exception.RenderRuleBroken, match="would reserve"):
            rules.check_all(files, plan)


def _fits(side, flavor):
    """How many of ``flavor`` placement lets onto ``side`` (capacity and max_unit)."""
    reported = side.offer + side.reserved
    if flavor.vcpus > reported.vcpus or flavor.ram > reported.memory_mb:
        return 0
    holds = side.holds
    return min(holds.vcpus // flavor.vcpus, holds.memory_mb // flavor.ram,
               holds.disk_gb // flavor.disk)


def _flavor(name):
    return next(spec for spec in demo.FLAVORS if spec.name == name)


class TestThisMachineKind:
    """With the defaults, 2 vCPU / 24 GiB / 250 GiB and libvirt reporting 7.3 GiB."""

    def _plan(self, tmp_path):
        return box_plan.build(_detecting(tmp_path), detected=_libvirt(NUMA_MB))

    def test_a_hundred_tiny_containers_and_two_vms_fit(self, tmp_path):
        plan = self._plan(tmp_path)
        tiny, vm = _flavor("hh.container.tiny"), _flavor("hh.vm")
        assert (tiny.trait, vm.trait) == (demo.TRAIT_DOCKER, demo.TRAIT_KVM)
        assert _fits(plan.docker, tiny) >= 100
        assert _fits(plan.kvm, vm) >= 2
        assert plan.docker.holds == box_plan.Capacity(128, 11028, 120)
        assert plan.kvm.holds == box_plan.Capacity(4, NUMA_MB, 120)

    def test_the_tiny_flavor_is_a_few_tens_of_mib(self):
        tiny = _flavor("hh.container.tiny")
        assert (tiny.vcpus, tiny.disk) == (1, 1) and 32 <= tiny.ram <= 64

    def test_quotas_are_not_the_first_limit(self, tmp_path):
        plan = self._plan(tmp_path)
        quotas = bootstrap.project_quotas(plan)
        tiny, vm = _flavor("hh.container.tiny"), _flavor("hh.vm")
        fit = _fits(plan.docker, tiny) + _fits(plan.kvm, vm)
        assert quotas["compute"]["instances"] >= fit
        assert quotas["compute"]["cores"] >= _fits(plan.docker, tiny) * tiny.vcpus + 2
        assert quotas["compute"]["ram"] >= 100 * tiny.ram + 2 * vm.ram
        assert quotas["compute"] == {"instances": 132, "cores": 132, "ram": 22057}
        assert quotas["network"]["ports"] == bootstrap.UNLIMITED

    def test_quotas_do_not_follow_libvirts_moving_figure(self, tmp_path):
        conf = _detecting(tmp_path)
        assert bootstrap.project_quotas(box_plan.build(conf, detected=_libvirt(5300))) == \
            bootstrap.project_quotas(box_plan.build(conf, detected=_libvirt(NUMA_MB)))
