"""[lab] options, generated secrets and stamps."""

import json
import os
import stat

import pytest

from hybridhost import conf as hh_conf
from hybridhost import exception
from hybridhost import lab_state
from tests.unit import confutils


class TestLabOptions:
    def test_defaults_are_loopback_ports_and_a_private_subnet(self, tmp_path):
        conf = confutils.load(tmp_path)
        assert conf.lab.enabled is False
        assert lab_state.state_dir(conf) == str(tmp_path / "state" / "lab")
        assert str(hh_conf.lab_tenant_network(conf)) == "10.77.0.0/24"
        assert len(set(hh_conf.lab_ports(conf).values())) == len(hh_conf.lab_ports(conf))
        hh_conf.check_lab(conf)

    @pytest.mark.parametrize("cidr, words", [
        ("10.77.0.1/24", "host bits set"),
        ("nonsense", "does not appear to be"),
        ("fd00::/64", "not an IPv4 network"),
        ("10.0.0.0/8", "of /16 to /29"),
    ])
    def test_bad_tenant_cidr_is_a_config_error_naming_the_option(self, tmp_path, cidr,
                                                                 words):
        conf = confutils.load(tmp_path, "[lab]\ntenant_cidr = %s\n" % cidr)
        with pytest.raises(exception.ConfigInvalid) as caught:
            hh_conf.check_lab(conf)
        assert "[lab] tenant_cidr" in str(caught.value) and words in str(caught.value)

    def test_two_services_on_one_port_are_refused(self, tmp_path):
        conf = confutils.load(tmp_path, "[lab]\nglance_port = 5000\n")
        with pytest.raises(exception.ConfigInvalid, match="port 5000 is also"):
            hh_conf.check_lab(conf)

    def test_a_lab_port_on_the_agents_openflow_port_is_refused(self, tmp_path):
        conf = confutils.load(tmp_path, "[lab]\nneutron_port = 6633\n")
        with pytest.raises(exception.ConfigInvalid, match="of_listen_port"):
            hh_conf.check_lab(conf)

    def test_vms_with_neither_dhcp_nor_config_drive_are_refused(self, tmp_path):
        conf = confutils.load(tmp_path, "[libvirt]\nforce_config_drive = false\n")
        with pytest.raises(exception.ConfigInvalid, match=r"\[lab\] dhcp_agent.*config drive"):
            hh_conf.check_lab(conf)
        hh_conf.check_lab(confutils.load(tmp_path, "[libvirt]\nforce_config_drive = false\n"
                                                "[lab]\ndhcp_agent = true\n"))

    def test_out_of_range_port_fails_at_load(self, tmp_path):
        with pytest.raises(exception.ConfigInvalid, match=r"\[lab\] mysql_port"):
            confutils.load(tmp_path, "[lab]\nmysql_port = 70000\n")


class TestSecrets:
    def test_generated_once_mode_0600_one_per_account(self, tmp_path):
        conf = confutils.load(tmp_path)
        first, created = lab_state.ensure_secrets(conf)
        again, created_again = lab_state.ensure_secrets(conf)
        assert created and not created_again and first == again
        assert set(first) == set(lab_state.ACCOUNTS)
        assert len(set(first.values())) == len(first)
        path = lab_state.layout(conf).secrets_file
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        # dnsmasq (as nobody) traverses the state dir; nobody can list it.
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o711

    def test_passwords_are_safe_inside_urls(self, tmp_path):
        secrets, _ = lab_state.ensure_secrets(confutils.load(tmp_path))
        assert all(value.isalnum() for value in secrets.values())

    def test_missing_secrets_tell_the_user_to_run_lab_up(self, tmp_path):
        with pytest.raises(exception.ConfigInvalid, match="hybridhost lab up"):
            lab_state.load_secrets(confutils.load(tmp_path))

    def test_corrupt_or_incomplete_secrets_name_the_file_and_the_fix(self, tmp_path):
        conf = confutils.load(tmp_path)
        lab_state.ensure_secrets(conf)
        path = lab_state.layout(conf).secrets_file
        with open(path, "w") as handle:
            handle.write("{not json")
        with pytest.raises(exception.ConfigInvalid, match="lab purge"):
            lab_state.load_secrets(conf)
        with open(path, "w") as handle:
            json.dump({"admin": "x"}, handle)
        with pytest.raises(exception.ConfigInvalid, match="lacks password"):
            lab_state.load_secrets(conf)

    def test_only_the_configuration_enables_the_lab(self, tmp_path):
        conf = confutils.load(tmp_path)
        lab_state.ensure_secrets(conf)
        assert not lab_state.enabled(conf)
        assert lab_state.enabled(confutils.load(tmp_path, "[lab]\nenabled = true\n"))


class TestStampsAndPurge:
    def test_stamp_matches_only_the_same_fingerprint(self, tmp_path):
        conf = confutils.load(tmp_path)
        assert not lab_state.stamp_matches(conf, "schemas", "abc")
        lab_state.stamp_done(conf, "schemas", "abc")
        assert lab_state.stamp_matches(conf, "schemas", "abc")
        assert not lab_state.stamp_matches(conf, "schemas", "abd")

    def test_write_private_reports_change_and_keeps_0600(self, tmp_path):
        path = str(tmp_path / "d" / "f")
        assert lab_state.write_private(path, "x")
        assert not lab_state.write_private(path, "x")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    def test_purge_removes_state_and_rendered_lab_files_only(self, tmp_path):
        conf = confutils.load(tmp_path)
        lab_state.ensure_secrets(conf)
        lab_dir = tmp_path / "etc" / "conf" / "lab"
        lab_dir.mkdir(parents=True)
        (tmp_path / "etc" / "conf" / "nova-kvm.conf").write_text("box")
        (tmp_path / "etc" / "supervisord.d").mkdir()
        (tmp_path / "etc" / "supervisord.d" / "control-plane.conf").write_text("x")
        removed = lab_state.purge(conf)
        assert len(removed) == 3
        assert not lab_state.exists(conf) and not lab_dir.exists()
        assert (tmp_path / "etc" / "conf" / "nova-kvm.conf").exists()
        assert lab_state.purge(conf) == []
