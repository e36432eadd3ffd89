"""The package's layering, checked by import-linter's contracts in pyproject.toml.

A layer never imports the one above it (cmd > lab > box/doctor > render > data and
adapters > conf > errors), and nova/neutron stay inside the Docker driver.
"""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _lint_imports():
    beside_python = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    return beside_python if os.path.exists(beside_python) else shutil.which("lint-imports")


def test_import_contracts_are_kept():
    command = _lint_imports()
    if command is None:
        pytest.fail("lint-imports (PyPI import-linter) is not installed; run tools/install.sh")
    # Analyse this tree, not an installed copy of hybridhost.
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run([command, "--no-cache"], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout
