"""targeting apply through the real openstacksdk adapter against the fake cloud."""

import pytest

from hybridhost import exception
from hybridhost.targeting import apply
from hybridhost.targeting import cloud as hh_cloud
from hybridhost.targeting import lint
from hybridhost.targeting import model
from tests.unit.targeting import fakes

DOCKER_HOST, KVM_HOST = "lab1-docker", "lab1-kvm"


def _box_cloud():
    cloud = fakes.FakeCloud()
    cloud.add_compute(DOCKER_HOST, "lab1-docker")
    cloud.add_compute(KVM_HOST, "lab1", traits=("COMPUTE_NODE", "HW_CPU_X86_SSE2"))
    cloud.add_flavor("hh.container")
    cloud.add_flavor("vm-small", **{"hw:cpu_policy": "shared"})
    cloud.add_flavor("m1.tiny")
    cloud.add_image("busybox", "docker", keep="me")
    cloud.add_image("guest", "ami", "ami", kernel_id="k", ramdisk_id="r")
    cloud.add_image("guest-kernel", "aki", "aki")
    return cloud


def _request(**kwargs):
    return model.Request(docker_host=DOCKER_HOST, kvm_host=KVM_HOST, **kwargs)


def _apply(cloud, request=None, dry_run=False):
    lines = []
    state, changes = apply.run(hh_cloud.Cloud(cloud.connection()), request or _request(),
                               lines.append, dry_run=dry_run)
    return state, changes, lines


class TestApply:
    def test_sets_up_both_ways_then_changes_nothing(self):
        """First run sets traits, aggregates, flavor specs, images; second writes nothing."""
        cloud = _box_cloud()
        _, changes, lines = _apply(cloud)
        assert changes and all(line.startswith("changed: ") for line in lines)
        assert "CUSTOM_HV_DOCKER" in cloud.traits and "CUSTOM_HV_KVM" in cloud.traits
        assert cloud.traits_of_host(DOCKER_HOST) == {"COMPUTE_NODE", "CUSTOM_HV_DOCKER"}
        assert cloud.traits_of_host(KVM_HOST) == {"COMPUTE_NODE", "HW_CPU_X86_SSE2",
                                                  "CUSTOM_HV_KVM"}
        docker_agg = cloud.aggregate_named("hh-docker")
        assert docker_agg["hosts"] == [DOCKER_HOST]
        assert docker_agg["metadata"] == {"hypervisor": "docker",
                                          "trait:CUSTOM_HV_DOCKER": "required"}
        assert cloud.aggregate_named("hh-kvm")["hosts"] == [KVM_HOST]
        specs = {f["name"]: f["extra_specs"] for f in cloud.flavors.values()}
        assert specs["hh.container"] == {"aggregate_instance_extra_specs:hypervisor": "docker",
                                         "trait:CUSTOM_HV_DOCKER": "required"}
        assert specs["vm-small"] == {"hw:cpu_policy": "shared",
                                     "aggregate_instance_extra_specs:hypervisor": "kvm",
                                     "trait:CUSTOM_HV_KVM": "required"}
        assert specs["m1.tiny"] == {}
        props = {i["name"]: i["properties"] for i in cloud.images.values()}
        assert props["busybox"] == {"keep": "me", "img_hv_type": "docker"}
        assert props["guest"] == {"kernel_id": "k", "ramdisk_id": "r", "img_hv_type": "qemu"}
        assert props["guest-kernel"] == {}

        writes = len(cloud.writes)
        _, again, lines = _apply(cloud)
        assert again == [] and lines == []
        assert len(cloud.writes) == writes

    def test_apply_leaves_lint_clean_except_unassigned_flavors(self):
        """After apply, lint only reports the flavor no rule could place."""
        cloud = _box_cloud()
        _apply(cloud)
        state = hh_cloud.Cloud(cloud.connection()).state(hosts=(DOCKER_HOST, KVM_HOST))
        found = lint.findings(state, _request())
        assert [(f.kind, f.subject, f.lands) for f in found] == [
            ("flavor", "m1.tiny", "either side")]

    def test_explicit_flavor_wins_and_moves_it_to_the_other_side(self):
        """--container-flavor on a VM-marked flavor: the KVM trait goes, Docker's comes."""
        cloud = _box_cloud()
        flavor_id = cloud.add_flavor("big", **{"trait:CUSTOM_HV_KVM": "required",
                                               "aggregate_instance_extra_specs:hypervisor":
                                               "kvm"})
        _apply(cloud, _request(container_flavors=("big",)))
        assert cloud.flavors[flavor_id]["extra_specs"] == {
            "trait:CUSTOM_HV_DOCKER": "required",
            "aggregate_instance_extra_specs:hypervisor": "docker"}

    def test_host_in_the_wrong_aggregate_is_moved(self):
        """The Docker host sitting in hh-kvm is removed from it."""
        cloud = _box_cloud()
        cloud.add_aggregate("hh-kvm", hosts=(DOCKER_HOST, KVM_HOST), hypervisor="kvm")
        _apply(cloud)
        assert cloud.aggregate_named("hh-kvm")["hosts"] == [KVM_HOST]
        assert cloud.aggregate_named("hh-docker")["hosts"] == [DOCKER_HOST]

    def test_wrong_trait_on_a_provider_is_removed(self):
        """A KVM trait on the Docker provider would let VM flavors land there."""
        cloud = _box_cloud()
        cloud.traits.add("CUSTOM_HV_KVM")
        uuid = [u for u, h in cloud.hypervisors.items() if h["host"] == DOCKER_HOST][0]
        cloud.provider_traits[uuid].add("CUSTOM_HV_KVM")
        _apply(cloud)
        assert cloud.traits_of_host(DOCKER_HOST) == {"COMPUTE_NODE", "CUSTOM_HV_DOCKER"}

    def test_provider_generation_conflict_is_retried(self):
        """nova-compute bumping the generation between GET and PUT is retried."""
        cloud = _box_cloud()
        cloud.conflict_next_trait_put = 1
        _apply(cloud)
        assert "CUSTOM_HV_DOCKER" in cloud.traits_of_host(DOCKER_HOST)

    def test_legacy_hypervisor_type_counts(self):
        """An image with the legacy hypervisor_type=docker needs no change."""
        cloud = fakes.FakeCloud()
        cloud.add_compute(DOCKER_HOST, "n1")
        cloud.add_compute(KVM_HOST, "n2")
        image_id = cloud.add_image("c", "docker", hypervisor_type="docker")
        _apply(cloud)
        assert cloud.images[image_id]["properties"] == {"hypervisor_type": "docker"}

    def test_wrong_img_hv_type_is_replaced(self):
        cloud = _box_cloud()
        image_id = cloud.add_image("c2", "docker", img_hv_type="qemu")
        _, _, lines = _apply(cloud)
        assert cloud.images[image_id]["properties"] == {"img_hv_type": "docker"}
        assert "changed: image c2 (container): set img_hv_type=docker (was qemu)" in lines

    def test_vm_hv_type_none_leaves_vm_images(self):
        cloud = _box_cloud()
        _apply(cloud, _request(vm_hv_type=None))
        props = {i["name"]: i["properties"] for i in cloud.images.values()}
        assert "img_hv_type" not in props["guest"]

    def test_dry_run_changes_nothing(self):
        cloud = _box_cloud()
        _, changes, lines = _apply(cloud, dry_run=True)
        assert changes and all(line.startswith("would change: ") for line in lines)
        assert cloud.writes == []


class TestRefusals:
    @pytest.mark.parametrize("request_kwargs, words", [
        ({"container_flavors": ("nope",)}, "no flavor nope"),
        ({"container_flavors": ("m1.tiny",), "vm_flavors": ("m1.tiny",)},
         "both a container and a VM flavor"),
        ({"docker_host": "elsewhere"}, "--docker-host elsewhere"),
    ])
    def test_user_mistakes_exit_2_before_any_change(self, request_kwargs, words):
        cloud = _box_cloud()
        kwargs = {"docker_host": DOCKER_HOST, "kvm_host": KVM_HOST, **request_kwargs}
        with pytest.raises(exception.TargetingInvalid, match=words) as err:
            _apply(cloud, model.Request(**kwargs))
        assert err.value.exit_code == 2
        assert cloud.writes == []

    def test_cloud_failure_is_one_line(self):
        """An SDK error during a change names the change and the fix."""
        cloud = _box_cloud()
        conn = cloud.connection()
        adapter = hh_cloud.Cloud(conn)
        change = model.Change("add_host", "hh-docker", "aggregate hh-docker: add host x",
                              ("hh-docker", "ghost"))
        cloud.add_aggregate("hh-docker")
        with pytest.raises(exception.TargetingFailed, match="is ghost a nova-compute "
                           "service host here"):
            adapter.apply(change)


def test_vm_image_with_kvm_hv_type_is_left_alone():
    """kvm is a libvirt type too: apply does not rewrite it (lint accepts it as well)."""
    cloud = _box_cloud()
    image_id = cloud.add_image("k", "bare", "qcow2", img_hv_type="kvm")
    _apply(cloud)
    assert cloud.images[image_id]["properties"] == {"img_hv_type": "kvm"}
