"""The guest's and the demo container's shell scripts: package data, shellcheck-clean."""

import shutil
import subprocess

import pytest

from hybridhost.lab import scripts
from tests.functional import base

SCRIPTS = ["config-drive.sh", "container-init.sh", "guest-init.sh", "probe.sh",
           "ssh-keys.sh", "udhcpc.sh"]


def test_the_package_ships_every_script():
    assert scripts.names() == SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_shellcheck_finds_nothing(name):
    """Every finding is fixed or disabled inline (``# shellcheck disable=SCnnnn # why``)."""
    base.require(shutil.which("shellcheck"), "shellcheck is not installed (apt-get install "
                 "shellcheck; tools/install.sh installs it)")
    with scripts.path(name) as path:
        result = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True,
                                check=False)
    assert result.returncode == 0, result.stdout + result.stderr


class TestLoad:
    def test_directives_go_placeholders_are_filled(self):
        with scripts.path("probe.sh") as path:
            raw = path.read_text()
        text = scripts.load("probe.sh", PROBE_BATCH=8, FAST_ROUNDS=3, SLOW_ROUND_S=30)
        assert "# shellcheck" in raw and "# shellcheck" not in text
        assert "$((n % 8))" in text and "-lt 3 ]" in text and "sleep 30;" in text
        assert "PROBE_BATCH" not in text and "FAST_ROUNDS" not in text
        assert len(text.splitlines()) == len(raw.splitlines()) - raw.count("# shellcheck ")

    def test_an_unknown_placeholder_is_refused(self):
        with pytest.raises(ValueError, match="udhcpc.sh has no placeholder WAIT_TENTHS"):
            scripts.load("udhcpc.sh", WAIT_TENTHS=30)

    def test_a_script_without_placeholders_loads_as_is_but_its_directives(self):
        with scripts.path("container-init.sh") as path:
            raw = path.read_text()
        assert scripts.load("container-init.sh") == "".join(
            line for line in raw.splitlines(keepends=True)
            if not line.lstrip().startswith("# shellcheck "))
