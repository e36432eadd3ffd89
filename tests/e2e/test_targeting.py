"""hybridhost targeting against a real cloud: the lab's nova, placement and glance."""

import os
import subprocess
import sys

from hybridhost import lab_state
from hybridhost.lab import access
from tests.e2e import lab as e2e

HYBRIDHOST = os.path.join(os.path.dirname(sys.executable), "hybridhost")


def _targeting(lab, *argv):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=lab_state.layout(lab.conf).clouds_yaml,
               OS_CLOUD=access.CLOUD_NAME)
    return subprocess.run([HYBRIDHOST, "--config-file", e2e.CONFIG, "targeting"] + list(argv),
                          capture_output=True, text=True, env=env, timeout=300, check=False)


def _provider_traits(lab, host):
    (hypervisor,) = [h for h in lab.conn.compute.hypervisors(details=True)
                     if h.service_details["host"] == host]
    return set(lab.conn.placement.get(
        "/resource_providers/%s/traits" % hypervisor.id,
        microversion="1.6").json()["traits"])


class TestTargetingOnTheLab:
    def test_apply_sets_up_both_ways_and_is_idempotent(self, lab):
        first = _targeting(lab, "apply")
        assert first.returncode == 0, first.stdout + first.stderr
        second = _targeting(lab, "apply")
        assert second.returncode == 0 and "Nothing to change" in second.stdout, second.stdout
        aggregates = {a.name: a for a in lab.conn.compute.aggregates()}
        assert aggregates["hh-docker"].hosts == [lab.plan.docker.host]
        assert aggregates["hh-kvm"].hosts == [lab.plan.kvm.host]
        container = lab.conn.compute.find_flavor("hh.container")
        specs = lab.conn.compute.fetch_flavor_extra_specs(container).extra_specs
        assert specs["aggregate_instance_extra_specs:hypervisor"] == "docker"
        assert specs["trait:CUSTOM_HV_DOCKER"] == "required"
        assert "CUSTOM_HV_DOCKER" in _provider_traits(lab, lab.plan.docker.host)
        assert "CUSTOM_HV_KVM" in _provider_traits(lab, lab.plan.kvm.host)
        # openstacksdk maps the img_hv_type property to hypervisor_type.
        assert lab.conn.image.find_image("hh-busybox").hypervisor_type == "docker"

    def test_lint_is_clean_after_apply(self, lab):
        result = _targeting(lab, "lint")
        assert result.returncode == 0, result.stdout + result.stderr

    def test_lint_finds_a_flavor_that_could_land_anywhere(self, lab):
        flavor = lab.conn.compute.create_flavor(name="hh-e2e-unmarked", ram=64, vcpus=1,
                                                disk=1)
        try:
            result = _targeting(lab, "lint")
            assert result.returncode == 1
            assert "hh-e2e-unmarked" in result.stdout and "fix:" in result.stdout
        finally:
            lab.conn.compute.delete_flavor(flavor)
