"""The committed conf/ and supervisord.d/ are the example box's rendered output, and the
rendered nova files pass oslo-config-validator."""

import os
import shutil
import subprocess

import pytest

from hybridhost import conf as hh_conf
from hybridhost import render
from hybridhost.render import files as rendered_files

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "etc", "hybridhost", "example-box.conf")
REGENERATE = ("hybridhost --config-file etc/hybridhost/example-box.conf "
              "render --output .")
# nova's sample namespace omits what nova-compute registers at run time (logging,
# messaging, locks, os-vif, keystoneauth plugins, privsep contexts) and our driver's
# own group: the other namespaces cover exactly those.
NAMESPACES = ("nova.conf", "oslo.log", "oslo.messaging", "oslo.concurrency", "os_vif",
              "hybridhost.nova_docker", "hybridhost.nova_runtime")


def _example_files():
    conf = hh_conf.load(["--config-file", EXAMPLE], default_config_files=[])
    return render.render(conf)[1]


def test_committed_files_match_the_renderer():
    diffs = rendered_files.differences(_example_files(), REPO)
    assert not diffs, "regenerate with '%s':\n%s" % (
        REGENERATE, rendered_files.unified_diff(diffs))


def _validator():
    path = shutil.which("oslo-config-validator")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("oslo-config-validator is not installed (CI must install nova)")
        pytest.skip("oslo-config-validator not installed; install the project's venv")
    return path


@pytest.mark.parametrize("name", ["nova-docker.conf", "nova-kvm.conf"])
def test_rendered_nova_files_pass_oslo_config_validator(name, tmp_path):
    argv = [_validator()]
    for namespace in NAMESPACES:
        argv += ["--namespace", namespace]
    argv += ["--input-file", os.path.join(REPO, "conf", name)]
    # A private cache: stevedore's entry-point cache can be stale after a reinstall.
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    errors = [line for line in proc.stderr.splitlines()
              if "ERROR" in line or "Could not load" in line]
    assert proc.returncode == 0 and not errors, proc.stderr[-3000:]


def test_the_two_nova_files_differ_in_identity():
    files = _example_files()
    docker, kvm = files["conf/nova-docker.conf"], files["conf/nova-kvm.conf"]
    assert "host = lab1-docker\n" in docker and "host = lab1-kvm\n" in kvm
    assert "state_path = /var/lib/hybridhost/nova-docker\n" in docker
    assert "state_path = /var/lib/hybridhost/nova-kvm\n" in kvm
