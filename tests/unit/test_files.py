import os

from hybridhost import render
from hybridhost.render import files as rendered_files
from tests.unit import confutils


def _files(tmp_path, extra=""):
    return render.render(confutils.load(tmp_path, extra))[1]


class TestWriteAndCheck:
    def test_write_then_nothing_differs(self, tmp_path):
        files = _files(tmp_path)
        out = tmp_path / "out"
        assert sorted(rendered_files.write(files, str(out))) == sorted(files)
        assert rendered_files.differences(files, str(out)) == []
        assert rendered_files.write(files, str(out)) == []

    def test_secret_files_are_owner_only(self, tmp_path):
        out = tmp_path / "out"
        rendered_files.write(_files(tmp_path), str(out))
        assert os.stat(out / "conf" / "nova-docker.conf").st_mode & 0o777 == 0o600
        assert os.stat(out / "supervisord.d" / "hybridhost.conf").st_mode & 0o777 == 0o644

    def test_changed_file_shows_in_diff_with_secrets_masked(self, tmp_path):
        out = tmp_path / "out"
        rendered_files.write(_files(tmp_path), str(out))
        changed = _files(tmp_path, "[openstack]\npassword = hunter2\n[host]\ndocker_vcpus = 2\n")
        diffs = rendered_files.differences(changed, str(out))
        assert {rel for rel, _, _ in diffs} == {"conf/nova-docker.conf", "conf/nova-kvm.conf"}
        text = rendered_files.unified_diff(diffs)
        assert "+vcpus = 2" in text
        assert "hunter2" not in text and "password = <secret>" in text

    def test_stale_rendered_file_is_removed_but_foreign_files_kept(self, tmp_path):
        out = tmp_path / "out"
        rendered_files.write(_files(tmp_path), str(out))
        (out / "supervisord.d" / "mine.conf").write_text("[program:mine]\ncommand=true\n")
        fewer = _files(tmp_path, "[host]\nmanage_services = false\n")
        diffs = rendered_files.differences(fewer, str(out))
        # conf/watcher.conf changes too (no host-services programs to watch).
        assert sorted(rel for rel, _, new in diffs if new is None) == [
            "conf/libvirtd.conf", "supervisord.d/host-services.conf"]
        rendered_files.write(fewer, str(out))
        assert not (out / "supervisord.d" / "host-services.conf").exists()
        assert (out / "supervisord.d" / "mine.conf").exists()
