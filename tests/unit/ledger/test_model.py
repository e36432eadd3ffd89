"""The ledger's arithmetic on hand-written placement data (the example box: 8 vCPU,
32 GiB, 200 GiB; each side offers 4 vCPU, 15360 MiB, 95 GiB; ratios 128/1/1 and 4/1/1)."""

import dataclasses

import pytest

from hybridhost import plan as box_plan
from hybridhost.ledger import model
from tests.unit import confutils
from tests.unit.ledger import fakes

TINY = model.Flavor("hh.container.tiny", "docker", 1, 64, 1)
VM = model.Flavor("hh.vm", "kvm", 1, 256, 1)


@pytest.fixture
def plan(tmp_path):
    return box_plan.build(confutils.load(tmp_path))


def _figures(ledger, side):
    return {line.resource.name: (line.capacity, line.used, line.free)
            for line in ledger.side_lines(side)}


class TestMatching:
    def test_placement_as_rendered_holds_the_plan_and_nothing_is_used(self, plan):
        ledger = model.build(plan, fakes.as_rendered(plan))
        assert ledger.read and ledger.problems == []
        assert all(line.matches and line.capacity == line.planned for line in ledger.lines)
        assert _figures(ledger, "docker") == {
            "VCPU": (512, 0, 512), "MEMORY_MB": (15360, 0, 15360), "DISK_GB": (95, 0, 95)}
        assert _figures(ledger, "kvm") == {
            "VCPU": (16, 0, 16), "MEMORY_MB": (15360, 0, 15360), "DISK_GB": (95, 0, 95)}
        assert ledger.uuids == {"docker": "uuid-docker", "kvm": "uuid-kvm"}

    def test_capacity_is_total_less_reserved_times_the_ratio(self, plan):
        """libvirt reports the whole machine (8 vCPU); nova reserves 4; ratio 4."""
        kvm_vcpu = model.build(plan, fakes.as_rendered(plan)).side_lines("kvm")[0]
        assert (kvm_vcpu.inventory.total, kvm_vcpu.inventory.reserved) == (8, 4)
        assert kvm_vcpu.capacity == (8 - 4) * 4 == 16

    def test_free_is_capacity_less_use(self, plan):
        usages = {"docker": {"VCPU": 3, "MEMORY_MB": 640, "DISK_GB": 10}}
        ledger = model.build(plan, fakes.as_rendered(plan, usages))
        assert _figures(ledger, "docker") == {
            "VCPU": (512, 3, 509), "MEMORY_MB": (15360, 640, 14720), "DISK_GB": (95, 10, 85)}
        assert ledger.problems == []


class TestMismatch:
    def test_libvirt_above_the_share_since_the_render_is_flagged(self, plan):
        """Rendered while libvirt reported less than the share (nothing reserved), now
        libvirt reports 32768 MiB: placement offers it all, the plan only the share."""
        providers = fakes.changed(fakes.as_rendered(plan), "box", "MEMORY_MB", reserved=0)
        ledger = model.build(plan, providers)
        line = ledger.side_lines("kvm")[1]
        assert (line.matches, line.capacity, line.planned) == (False, 32768, 15360)
        [problem] = ledger.problems
        assert problem.startswith("kvm MEMORY_MB: placement offers 32768 MiB (total 32768 - "
                                  "reserved 0), the plan 15360 MiB")
        assert "libvirt reports more" in problem and "hybridhost up" in problem

    def test_a_docker_offer_that_differs_points_at_the_rendered_files(self, plan):
        providers = fakes.changed(fakes.as_rendered(plan), "box-docker", "VCPU", total=2)
        [problem] = model.build(plan, providers).problems
        assert problem.startswith("docker VCPU: placement offers 2 vCPU")
        assert "hybridhost render --check" in problem

    def test_a_ratio_that_differs_is_flagged(self, plan):
        providers = fakes.changed(fakes.as_rendered(plan), "box-docker", "VCPU",
                                  allocation_ratio=4.0)
        ledger = model.build(plan, providers)
        assert ledger.problems == [
            "docker VCPU: placement's allocation ratio is 4, the plan's 128"]
        assert ledger.side_lines("docker")[0].capacity == 16

    def test_a_missing_inventory_is_flagged(self, plan):
        providers = fakes.as_rendered(plan)
        docker = providers["box-docker"]
        inventories = {k: v for k, v in docker.inventories.items() if k != "DISK_GB"}
        providers["box-docker"] = dataclasses.replace(docker, inventories=inventories)
        ledger = model.build(plan, providers)
        assert ledger.problems == [
            "docker DISK_GB: placement holds no inventory of it on box-docker"]
        assert ledger.room(TINY).count is None


class TestOverUse:
    def test_use_above_capacity_is_flagged_and_nothing_is_free(self, plan):
        usages = {"docker": {"VCPU": 600}}
        ledger = model.build(plan, fakes.as_rendered(plan, usages))
        line = ledger.side_lines("docker")[0]
        assert (line.over_used, line.free, line.matches) == (True, 0, True)
        assert ledger.problems == [
            "docker VCPU: over-used: allocations hold 600 vCPU, the capacity is 512 vCPU"]
        assert ledger.room(TINY).count == 0


class TestUnknown:
    def test_placement_unreachable_keeps_the_plan_and_says_why(self, plan):
        ledger = model.build(plan, unknown="placement cannot be read: refused")
        assert not ledger.read and ledger.unknown == "placement cannot be read: refused"
        assert [line.planned for line in ledger.lines] == [512, 15360, 95, 16, 15360, 95]
        assert all(line.capacity is None and line.used is None and line.free is None
                   and line.matches is None for line in ledger.lines)
        assert ledger.problems == []
        assert ledger.room(TINY) == model.Room(TINY, None, None)

    def test_a_side_placement_does_not_know_is_named(self, plan):
        providers = fakes.as_rendered(plan)
        del providers["box"]
        ledger = model.build(plan, providers)
        assert ledger.missing == (("kvm", "box"),)
        assert ledger.problems == ["kvm: placement has no resource provider named box (is "
                                   "nova-compute-kvm up? 'hybridhost status')"]
        assert _figures(ledger, "kvm")["VCPU"] == (None, None, None)
        assert ledger.room(VM).count is None and ledger.room(TINY).count == 95

    def test_build_needs_providers_or_a_reason(self, plan):
        with pytest.raises(ValueError, match="providers or why"):
            model.build(plan)


class TestRoom:
    def test_how_many_more_fit_and_the_limit(self, plan):
        ledger = model.build(plan, fakes.as_rendered(plan))
        # 512 vCPU, 15360 / 64 = 240, 95 GiB: the disk is the limit.
        assert ledger.room(TINY) == model.Room(TINY, 95, "DISK_GB")
        # 16 vCPU (4 x 4), 15360 / 256 = 60, 95: the vCPUs.
        assert ledger.room(VM) == model.Room(VM, 16, "VCPU")

    def test_use_lowers_the_room(self, plan):
        usages = {"docker": {"VCPU": 90, "MEMORY_MB": 90 * 64, "DISK_GB": 90}}
        ledger = model.build(plan, fakes.as_rendered(plan, usages))
        assert ledger.room(TINY) == model.Room(TINY, 5, "DISK_GB")

    def test_a_flavor_above_max_unit_never_fits(self, plan):
        providers = fakes.changed(fakes.as_rendered(plan), "box", "VCPU", max_unit=1)
        big = model.Flavor("hh.vm.large", "kvm", 2, 512, 2)
        assert model.build(plan, providers).room(big) == model.Room(big, 0, "VCPU", 1)
