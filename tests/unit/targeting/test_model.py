"""Which side a flavor belongs to, and the plan apply makes (pure)."""

import pytest

from hybridhost.cmd import main as cli
from hybridhost.targeting import cloud as hh_cloud
from hybridhost.targeting import model
from tests.unit import confutils
from tests.unit.targeting import fakes


@pytest.mark.parametrize("name, side", [
    ("hh.container", "docker"), ("hh.container.large", "docker"), ("docker-1", "docker"),
    ("hh.vm", "kvm"), ("vm_small", "kvm"), ("KVM.big", "kvm"),
    ("m1.small", None), ("containerish", None), ("vmware", None),
    ("container-vm", None),   # both words: ambiguous, no side
])
def test_naming_convention(name, side):
    assert model.convention_side(name) == side


def test_explicit_argument_beats_marks_and_name():
    flavor = model.Flavor("id1", "hh.vm", {"trait:CUSTOM_HV_KVM": "required"})
    request = model.Request("d", "k", container_flavors=("hh.vm",))
    assert model.intended_side(flavor, request) == "docker"


def test_existing_marks_beat_the_name():
    flavor = model.Flavor("id1", "vm.odd", {"trait:CUSTOM_HV_DOCKER": "required"})
    assert model.intended_side(flavor, model.Request("d", "k")) == "docker"


def test_flavors_can_be_named_by_id():
    flavor = model.Flavor("42", "m1.small", {})
    assert model.intended_side(flavor, model.Request("d", "k", vm_flavors=("42",))) == "kvm"


def test_provider_of_another_host_is_untouched():
    """Only the providers of the two named hosts get traits."""
    state = model.CloudState(providers=(
        model.Provider("u9", "other", "other-host", frozenset()),),
        traits=frozenset({"CUSTOM_HV_DOCKER", "CUSTOM_HV_KVM"}))
    changes = model.changes(state, model.Request("d", "k"))
    assert not [c for c in changes if c.action == "set_provider_traits"]


def test_hosts_default_to_hybridhost_conf(tmp_path, monkeypatch, capsys):
    """Without --docker-host/--kvm-host the hosts come from [host] of hybridhost.conf."""
    cloud = fakes.FakeCloud()
    cloud.add_compute("box-docker", "box-docker")
    cloud.add_compute("box-kvm", "box")
    monkeypatch.setattr(hh_cloud, "connect", lambda name=None: cloud.connection())
    path = confutils.write_conf(tmp_path)
    assert cli.main(["--config-file", path, "targeting", "apply"]) == 0
    assert cloud.aggregate_named("hh-docker")["hosts"] == ["box-docker"]
    assert cloud.aggregate_named("hh-kvm")["hosts"] == ["box-kvm"]
    assert "hosts box-docker and box-kvm" not in capsys.readouterr().err
