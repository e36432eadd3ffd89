"""The VM guest's key reader (ssh-keys.sh) run by busybox on nova's meta_data.json."""

import json
import os
import subprocess

import fixtures
from nova import objects
from nova.api.metadata import base as instance_metadata
import pytest

from hybridhost.lab import guest
from hybridhost.lab import scripts
from tests.contract import nova_objects
from tests.functional import base

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKh5YnJpZGhvc3Qtc3NoLWtleXMtdGVzdA hh@box"


@pytest.fixture
def keys_of(tmp_path):
    """Runs the script with busybox's own applets (awk, mkdir, mv), as in the guest."""
    base.require(os.path.exists(guest.BUSYBOX), "no %s (apt-get install busybox-static)"
                 % guest.BUSYBOX)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for applet in ("awk", "mkdir", "mv", "sh"):
        os.symlink(guest.BUSYBOX, bin_dir / applet)

    def run(meta_text):
        meta = tmp_path / "meta_data.json"
        meta.write_text(meta_text)
        out = tmp_path / "root" / ".ssh" / "authorized_keys"
        with scripts.path("ssh-keys.sh") as script:
            subprocess.run([guest.BUSYBOX, "sh", str(script), str(meta), str(out)],
                           env={"PATH": str(bin_dir)}, check=True, timeout=30)
        assert os.stat(out).st_mode & 0o777 == 0o600
        assert os.stat(out.parent).st_mode & 0o777 == 0o700
        return out.read_text()

    return run


def nova_meta_data(key_data):
    """meta_data.json as nova's own builder writes it on a config drive."""
    objects.register_all()
    with fixtures.Fixture() as scope:
        scope.useFixture(nova_objects.NoControlPlaneFixture())
        instance = nova_objects.instance("box-kvm", "image", key_data=key_data)
        tree = dict(instance_metadata.InstanceMetadata(
            instance, content=[], extra_md={}, network_info=[]).metadata_for_config_drive())
    return tree["openstack/latest/meta_data.json"].decode()


class TestKeys:
    def test_nova_s_meta_data_gives_exactly_the_keypair(self, keys_of):
        """nova keeps the key's trailing newline (escaped); the file holds the key alone."""
        meta = nova_meta_data(KEY + "\n")
        assert json.loads(meta)["public_keys"] == {"hhkey": KEY + "\n"}
        assert keys_of(meta) == KEY + "\n"

    def test_several_keys_escapes_and_unicode(self, keys_of):
        meta = json.dumps({
            "meta": {"public_keys": "not these"},
            "public_keys": {"a": KEY, "b\"q": 'ssh-rsa AAAAB3 caf\u00e9 "x" \\ \n\n'},
            "keys": [{"data": "ssh-dss not-this-either"}]})
        assert keys_of(meta) == KEY + '\nssh-rsa AAAAB3 caf\u00e9 "x" \\\n'

    def test_pretty_printed_json(self, keys_of):
        assert keys_of(json.dumps({"uuid": "u", "public_keys": {"a": KEY}}, indent=2)) == (
            KEY + "\n")

    def test_no_keypair_writes_an_empty_file(self, keys_of):
        assert keys_of(nova_meta_data(None)) == ""
        assert keys_of(json.dumps({"public_keys": {}, "x": {"public_keys": {"a": KEY}}})) == ""
