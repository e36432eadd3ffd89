import pytest

from hybridhost import conf as hh_conf
from hybridhost import exception
from tests.unit import confutils


def _load_text(tmp_path, text):
    path = tmp_path / "hybridhost.conf"
    path.write_text(text)
    return hh_conf.load(["--config-file", str(path)], default_config_files=[])


class TestLoad:
    def test_defaults_without_any_file(self):
        conf = hh_conf.load([], default_config_files=[])
        assert conf.host.manage_services is True
        assert conf.ovs.datapath_type == "netdev"
        assert conf.paths.config_dir == "/etc/hybridhost"
        assert conf.supervisor.inet_port is None

    def test_values_are_read(self, tmp_path):
        conf = confutils.load(tmp_path, "[host]\ndocker_vcpus = 3\n")
        assert conf.host.docker_vcpus == 3
        assert conf.host.name == "box"

    @pytest.mark.parametrize("text, option", [
        ("[host]\ntotal_vcpus = many\n", "[host] total_vcpus"),
        ("[host]\nreserved_memory_mb = -5\n", "[host] reserved_memory_mb"),
        ("[ovs]\ndatapath_type = kernel\n", "[ovs] datapath_type"),
        ("[host]\nname = not a host name!\n", "[host] name"),
        ("[ovs]\novsdb_connection = tcp:10.0.0.1:6640\n", "[ovs] ovsdb_connection"),
        ("[host]\nmanaged_services = ovsdb-server,sshd\n", "[host] managed_services"),
    ])
    def test_bad_value_names_the_option(self, tmp_path, text, option):
        with pytest.raises(exception.ConfigInvalid) as info:
            _load_text(tmp_path, text)
        assert option in str(info.value)
        assert info.value.exit_code == 2

    def test_malformed_file(self, tmp_path):
        with pytest.raises(exception.ConfigInvalid) as info:
            _load_text(tmp_path, "this is not ini\n[host\n")
        assert "not an INI file" in str(info.value)

    def test_missing_file(self, tmp_path):
        with pytest.raises(exception.ConfigInvalid) as info:
            hh_conf.load(["--config-file", str(tmp_path / "nope.conf")],
                         default_config_files=[])
        assert "nope.conf" in str(info.value)

    def test_misspelt_option_is_refused(self, tmp_path):
        with pytest.raises(exception.ConfigInvalid) as info:
            _load_text(tmp_path, "[host]\ndocker_vcpu = 2\n")
        assert "[host] docker_vcpu" in str(info.value)
        assert "unknown option" in str(info.value)

    def test_unknown_section_is_refused(self, tmp_path):
        with pytest.raises(exception.ConfigInvalid) as info:
            _load_text(tmp_path, "[hosts]\nname = x\n")
        assert "[hosts]" in str(info.value)

    def test_list_opts_covers_every_group(self):
        names = {group.name for group, _ in hh_conf.list_opts()}
        assert names == {"host", "paths", "supervisor", "docker", "libvirt", "ovs",
                         "openstack", "lab", "watcher"}
        for _group, opts in hh_conf.list_opts():
            for opt in opts:
                assert opt.help, opt.name


def test_readme_configuration_reference_is_current():
    import os

    from hybridhost import docs

    readme = os.path.join(os.path.dirname(__file__), "..", "..", "README.rst")
    with open(readme) as handle:
        text = handle.read()
    assert docs.BEGIN in text
    assert docs.update(text) == text, "run: python -m hybridhost.docs README.rst"
