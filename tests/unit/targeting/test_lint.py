"""targeting lint: each finding (pure), and the command line's exit codes and output."""

import pytest

from hybridhost.cmd import main as cli
from hybridhost.targeting import cloud as hh_cloud
from hybridhost.targeting import lint
from hybridhost.targeting import model
from tests.unit.targeting import fakes

DOCKER_SPECS = {"trait:CUSTOM_HV_DOCKER": "required",
                "aggregate_instance_extra_specs:hypervisor": "docker"}
HOSTS = model.Request(docker_host="lab1-docker", kvm_host="lab1-kvm")


def _flavor(**specs):
    return model.Flavor(id="f1", name="f1", extra_specs=specs)


def _one(findings):
    assert len(findings) == 1, findings
    return findings[0]


class TestFlavorFindings:
    def test_fully_marked_flavor_is_clean(self):
        assert lint.flavor_findings(_flavor(**DOCKER_SPECS)) == []

    def test_trait_only_is_clean(self):
        """A required trait alone already targets one side (placement)."""
        assert lint.flavor_findings(_flavor(**{"trait:CUSTOM_HV_KVM": "required"})) == []

    def test_unmarked_flavor_could_land_on_either_side(self):
        found = _one(lint.flavor_findings(_flavor()))
        assert found.lands == "either side"
        assert "--container-flavor f1 (or --vm-flavor f1)" in found.fix

    def test_unmarked_flavor_fix_follows_the_naming_convention(self):
        flavor = model.Flavor(id="x", name="vm.large", extra_specs={})
        assert _one(lint.flavor_findings(flavor)).fix.endswith("--vm-flavor vm.large")

    def test_both_traits_land_nowhere(self):
        found = _one(lint.flavor_findings(_flavor(**{
            "trait:CUSTOM_HV_DOCKER": "required", "trait:CUSTOM_HV_KVM": "required"})))
        assert found.lands == "neither side" and "requires both" in found.problem

    def test_forbidding_the_other_side_is_fine_with_a_required_trait(self):
        flavor = _flavor(**{"trait:CUSTOM_HV_DOCKER": "required",
                            "trait:CUSTOM_HV_KVM": "forbidden"})
        assert lint.flavor_findings(flavor) == []

    def test_only_forbidding_a_side_is_no_target(self):
        """Forbidding one trait requests no side: reported like an unmarked flavor."""
        flavor = _flavor(**{"trait:CUSTOM_HV_KVM": "forbidden"})
        assert _one(lint.flavor_findings(flavor)).lands == "either side"

    def test_trait_and_aggregate_spec_disagree(self):
        found = _one(lint.flavor_findings(_flavor(**{
            "trait:CUSTOM_HV_DOCKER": "required",
            "aggregate_instance_extra_specs:hypervisor": "kvm"})))
        assert found.lands == "neither side" and "asks for the VM side" in found.problem

    def test_unknown_aggregate_value(self):
        found = _one(lint.flavor_findings(_flavor(**{
            "aggregate_instance_extra_specs:hypervisor": "xen"})))
        assert found.lands == "neither side" and "=xen matches no aggregate" in found.problem

    def test_aggregate_spec_without_trait(self):
        found = _one(lint.flavor_findings(_flavor(**{
            "aggregate_instance_extra_specs:hypervisor": "docker"})))
        assert found.lands == "neither side"
        assert "isolated aggregate filtering keeps it off hh-docker" in found.problem
        assert found.fix.endswith("--container-flavor f1")

    def test_unscoped_hypervisor_key(self):
        findings = lint.flavor_findings(_flavor(hypervisor="docker", **DOCKER_SPECS))
        assert "ComputeCapabilitiesFilter" in _one(findings).problem


class TestImageFindings:
    def _image(self, container_format, disk_format="raw", **props):
        return model.Image("i1", "img", container_format, disk_format, props)

    @pytest.mark.parametrize("image", [
        model.Image("i", "c", "docker", "raw", {"img_hv_type": "docker"}),
        model.Image("i", "c", "docker", "raw", {"hypervisor_type": "docker"}),
        model.Image("i", "v", "bare", "qcow2", {"img_hv_type": "qemu"}),
        model.Image("i", "v", "ami", "ami", {"img_hv_type": "kvm"}),
        model.Image("i", "k", "aki", "aki", {}),
        model.Image("i", "r", "ari", "ari", {}),
    ])
    def test_clean_images(self, image):
        assert lint.image_findings(image) == []

    def test_container_image_without_hv_type(self):
        found = _one(lint.image_findings(self._image("docker")))
        assert found.lands == "the wrong side" and "libvirt side" in found.problem
        assert "img_hv_type=docker i1" in found.fix

    def test_container_image_with_a_vm_hv_type(self):
        found = _one(lint.image_findings(self._image("docker", img_hv_type="qemu")))
        assert "advertises only 'docker'" in found.problem

    def test_img_hv_type_wins_over_the_legacy_name(self):
        """nova reads img_hv_type first: a right legacy value does not hide it."""
        image = self._image("docker", img_hv_type="qemu", hypervisor_type="docker")
        assert _one(lint.image_findings(image))

    def test_vm_image_without_hv_type_fails_at_boot_on_docker(self):
        found = _one(lint.image_findings(self._image("bare", "qcow2")))
        assert found.lands == "either side"
        assert "Docker driver refuses" in found.problem and "img_hv_type=qemu" in found.fix

    def test_vm_image_marked_docker(self):
        found = _one(lint.image_findings(self._image("bare", "qcow2", img_hv_type="docker")))
        assert found.lands == "the wrong side"


class TestHostFindings:
    def _state(self, **kwargs):
        providers = (model.Provider("u1", "lab1-docker", "lab1-docker", frozenset()),
                     model.Provider("u2", "lab1", "lab1-kvm", frozenset()))
        return model.CloudState(**{"providers": providers, **kwargs})

    def test_nothing_set_up_reports_each_missing_piece(self):
        found = lint.host_findings(self._state(), HOSTS)
        problems = " | ".join(f.problem for f in found)
        assert "create custom trait CUSTOM_HV_DOCKER" in problems
        assert "resource provider lab1-docker (u1): traits +CUSTOM_HV_DOCKER" in problems
        assert "create host aggregate hh-kvm" in problems
        assert all(f.fix == lint.APPLY for f in found)

    def test_missing_compute(self):
        state = model.CloudState(providers=(
            model.Provider("u2", "lab1", "lab1-kvm", frozenset({"CUSTOM_HV_KVM"})),))
        found = [f for f in lint.host_findings(state, HOSTS) if f.subject == "lab1-docker"]
        assert "no compute node of host lab1-docker" in found[0].problem

    def test_host_in_a_foreign_aggregate_for_the_other_side(self):
        aggregates = (model.Aggregate("9", "gpu", ("lab1-docker",), {"hypervisor": "kvm"}),)
        found = [f for f in lint.host_findings(self._state(aggregates=aggregates), HOSTS)
                 if "aggregate gpu" in f.problem]
        assert _one(found).fix == "openstack aggregate remove host gpu lab1-docker"


@pytest.fixture
def fake_cloud(monkeypatch):
    cloud = fakes.FakeCloud()
    cloud.add_compute("lab1-docker", "lab1-docker")
    cloud.add_compute("lab1-kvm", "lab1")
    cloud.add_flavor("hh.container")
    cloud.add_flavor("hh.vm")
    cloud.add_image("busybox", "docker")
    monkeypatch.setattr(hh_cloud, "connect", lambda name=None: cloud.connection())
    return cloud


def _run(capsys, *argv):
    code = cli.main(["targeting"] + list(argv) + ["--docker-host", "lab1-docker",
                                                  "--kvm-host", "lab1-kvm"])
    out, err = capsys.readouterr()
    return code, out, err


class TestCommandLine:
    def test_lint_apply_apply_lint(self, fake_cloud, capsys):
        """lint finds things (exit 1); apply fixes them; apply again: nothing; lint: 0."""
        code, out, _ = _run(capsys, "lint")
        assert code == 1
        assert "flavor hh.container: lands on either side" in out
        assert "fix: hybridhost targeting apply --container-flavor hh.container" in out
        assert "image busybox: lands on the wrong side" in out
        code, out, _ = _run(capsys, "apply")
        assert code == 0 and "changed: flavor hh.vm (VM): set" in out
        assert "enable_isolated_aggregate_filtering = true" in out
        assert "AggregateInstanceExtraSpecsFilter" in out
        code, out, _ = _run(capsys, "apply")
        assert code == 0 and "Nothing to change" in out and "changed:" not in out
        code, out, _ = _run(capsys, "lint")
        assert code == 0 and "0 finding(s) in 2 flavor(s) and 1 image(s)" in out

    def test_apply_reports_flavors_it_left_alone(self, fake_cloud, capsys):
        fake_cloud.add_flavor("m1.small")
        code, out, _ = _run(capsys, "apply")
        assert code == 0 and "Left alone (no side by argument, mark or name): m1.small" in out

    def test_unknown_flavor_is_exit_2_one_line(self, fake_cloud, capsys):
        code, out, err = _run(capsys, "apply", "--vm-flavor", "nope")
        assert code == 2 and "no flavor nope" in err
        assert "Traceback" not in err and err.count("\n") == 1
        assert fake_cloud.writes == []

    def test_unknown_cloud_is_exit_2_one_line(self, monkeypatch, tmp_path, capsys):
        monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
        (tmp_path / "clouds.yaml").write_text("clouds: {}\n")
        code, _, err = _run(capsys, "lint", "--os-cloud", "nosuch")
        assert code == 2 and "Cannot use cloud nosuch" in err
        assert "Traceback" not in err and err.count("\n") == 1

    def test_same_host_for_both_sides(self, fake_cloud, capsys):
        code = cli.main(["targeting", "apply", "--docker-host", "x", "--kvm-host", "x"])
        assert code == 2 and "must be different" in capsys.readouterr().err

    def test_targeting_without_action_prints_help(self, capsys):
        assert cli.main(["targeting"]) == 2
        assert "apply" in capsys.readouterr().out
