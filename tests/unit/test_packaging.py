"""setup.cfg lists its packages by hand (the nova shim needs package_dir): every
package of the tree must be there, or a non-editable install (tools/install.sh)
leaves it out and the command fails only once installed."""

import configparser
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _declared():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "setup.cfg"))
    return {name.strip() for name in parser.get("options", "packages").split("\n")
            if name.strip()}


def _in_tree():
    found = set()
    for directory, dirs, names in os.walk(os.path.join(ROOT, "hybridhost")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        if "__init__.py" in names:
            found.add(os.path.relpath(directory, ROOT).replace(os.sep, "."))
    return found


def test_every_package_of_the_tree_is_declared():
    missing = sorted(_in_tree() - _declared())
    assert not missing, "add to setup.cfg [options] packages: %s" % ", ".join(missing)


def test_every_declared_package_exists():
    declared = {name for name in _declared() if name.startswith("hybridhost")}
    assert declared <= _in_tree()
