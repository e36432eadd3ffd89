import configparser

import pytest

from hybridhost import exception
from hybridhost import render
from hybridhost.render import rules
from tests.unit import confutils


def _ini(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def _render(tmp_path, extra=""):
    return render.render(confutils.load(tmp_path, extra))


class TestRenderedFiles:
    def test_file_set(self, tmp_path):
        _plan, files = _render(tmp_path)
        assert sorted(files) == [
            "conf/libvirtd.conf", "conf/neutron-openvswitch-agent.conf",
            "conf/nova-docker.conf", "conf/nova-kvm.conf",
            "conf/provider-config-kvm/hv-kvm.yaml", "conf/supervisord.conf",
            "conf/watcher.conf", "supervisord.d/host-services.conf",
            "supervisord.d/hybridhost.conf"]

    def test_deterministic(self, tmp_path):
        assert _render(tmp_path)[1] == _render(tmp_path)[1]

    def test_identities(self, tmp_path):
        _plan, files = _render(tmp_path)
        docker, kvm = _ini(files[rules.DOCKER_CONF]), _ini(files[rules.KVM_CONF])
        agent = _ini(files[rules.AGENT_CONF])
        assert docker["DEFAULT"]["host"] == "box-docker"
        assert kvm["DEFAULT"]["host"] == "box-kvm"
        assert docker["DEFAULT"]["compute_driver"] == "hybridhost_docker.DockerDriver"
        assert kvm["DEFAULT"]["compute_driver"] == "hybridhost_libvirt.LibvirtDriver"
        assert agent["DEFAULT"]["host"] == "box-kvm"
        assert docker["hybridhost_docker"]["network_binding_host"] == "box-kvm"
        assert docker["hybridhost_docker"]["nodename"] == "box-docker"

    def test_each_side_has_separate_state_locks_and_logs(self, tmp_path):
        _plan, files = _render(tmp_path)
        docker, kvm = _ini(files[rules.DOCKER_CONF]), _ini(files[rules.KVM_CONF])
        for section, key in (("DEFAULT", "state_path"), ("DEFAULT", "instances_path"),
                             ("DEFAULT", "log_file"), ("oslo_concurrency", "lock_path")):
            assert docker[section][key] != kvm[section][key]

    def test_both_sides_resume_running_instances_on_start(self, tmp_path):
        """nova starts again what was running when its nova-compute went down."""
        _plan, files = _render(tmp_path)
        for name in (rules.DOCKER_CONF, rules.KVM_CONF):
            assert _ini(files[name])["DEFAULT"]["resume_guests_state_on_host_boot"] == "true"

    def test_inventories_equal_shares(self, tmp_path):
        plan, files = _render(tmp_path, "[host]\ndocker_vcpus = 3\ndocker_memory_mb = 8192\n"
                                         "docker_disk_gb = 50\n")
        docker, kvm = _ini(files[rules.DOCKER_CONF]), _ini(files[rules.KVM_CONF])
        own = docker["hybridhost_docker"]
        assert (int(own["vcpus"]), int(own["memory_mb"]), int(own["disk_gb"])) == (3, 8192, 50)
        assert docker["DEFAULT"]["reserved_host_memory_mb"] == "0"
        # libvirt reports the whole machine; the reserve leaves exactly the kvm share.
        assert 8 - int(kvm["DEFAULT"]["reserved_host_cpus"]) == plan.kvm.share.vcpus == 5
        assert 32768 - int(kvm["DEFAULT"]["reserved_host_memory_mb"]) == plan.kvm.share.memory_mb
        assert 200 - int(kvm["DEFAULT"]["reserved_host_disk_mb"]) // 1024 == 140

    def test_agent_config(self, tmp_path):
        _plan, files = _render(tmp_path, "[ovs]\nof_listen_port = 16633\n")
        agent = _ini(files[rules.AGENT_CONF])
        assert agent["ovs"]["datapath_type"] == "netdev"
        assert agent["ovs"]["of_listen_address"] == "127.0.0.1"
        assert agent["ovs"]["of_listen_port"] == "16633"
        assert agent["agent"]["root_helper"] == "env"
        # New ports are noticed within 1 s (default 2 s): boot time waits on it.
        assert agent["agent"]["polling_interval"] == "1"
        assert agent["securitygroup"]["firewall_driver"] == "hybridhost_openvswitch"

    def test_qemu_gets_cpu_mode_none(self, tmp_path):
        _plan, files = _render(tmp_path)
        assert _ini(files[rules.KVM_CONF])["libvirt"]["cpu_mode"] == "none"
        _plan, files = _render(tmp_path, "[libvirt]\nvirt_type = kvm\n")
        assert "cpu_mode" not in _ini(files[rules.KVM_CONF])["libvirt"]

    def test_privsep_helpers_use_the_venv_and_own_config(self, tmp_path):
        _plan, files = _render(tmp_path)
        docker = _ini(files[rules.DOCKER_CONF])
        helper = docker["hybridhost_docker_privileged"]["helper_command"]
        assert helper == "/venv/bin/privsep-helper --config-file %s/etc/conf/nova-docker.conf" \
            % tmp_path
        assert docker["vif_plug_ovs_privileged"]["helper_command"] == helper


class TestSupervisorLayout:
    def test_control_socket_is_private_and_no_inet_by_default(self, tmp_path):
        _plan, files = _render(tmp_path)
        sup = _ini(files["conf/supervisord.conf"])
        assert sup["unix_http_server"]["chmod"] == "0700"
        assert sup["unix_http_server"]["file"] == "%s/run/supervisor.sock" % tmp_path
        assert "inet_http_server" not in sup
        assert sup["include"]["files"] == "%s/etc/supervisord.d/*.conf" % tmp_path

    def test_inet_server_only_when_configured_and_on_loopback(self, tmp_path):
        _plan, files = _render(tmp_path, "[supervisor]\ninet_port = 9001\n"
                                         "inet_password = s3cret\n")
        sup = _ini(files["conf/supervisord.conf"])
        assert sup["inet_http_server"]["port"] == "127.0.0.1:9001"

    def test_inet_server_needs_a_password(self, tmp_path):
        with pytest.raises(exception.ConfigInvalid) as info:
            _render(tmp_path, "[supervisor]\ninet_port = 9001\n")
        assert "inet_password" in str(info.value)

    def test_groups_and_one_agent(self, tmp_path):
        _plan, files = _render(tmp_path)
        box = _ini(files["supervisord.d/hybridhost.conf"])
        assert box["group:hybridhost"]["programs"] == (
            "neutron-openvswitch-agent,nova-compute-docker,nova-compute-kvm")
        agents = [s for s in box.sections() if "openvswitch-agent" in s]
        assert agents == ["program:neutron-openvswitch-agent"]
        host = _ini(files["supervisord.d/host-services.conf"])
        assert host["group:host-services"]["programs"] == (
            "ovsdb-server,ovs-vswitchd,dockerd,libvirtd,virtlogd")

    def test_the_agent_wakes_on_events_unless_told_otherwise(self, tmp_path):
        _plan, files = _render(tmp_path)
        agent = _ini(files["supervisord.d/hybridhost.conf"])["program:neutron-openvswitch-agent"]
        assert "/venv/bin/hybridhost-openvswitch-agent --config-file" in agent["command"]
        _plan, files = _render(tmp_path, "[ovs]\nagent_wakes_on_events = false\n")
        agent = _ini(files["supervisord.d/hybridhost.conf"])["program:neutron-openvswitch-agent"]
        assert "/venv/bin/neutron-openvswitch-agent --config-file" in agent["command"]

    def test_start_order_through_wait_for(self, tmp_path):
        _plan, files = _render(tmp_path)
        box = _ini(files["supervisord.d/hybridhost.conf"])
        docker_cmd = box["program:nova-compute-docker"]["command"]
        assert "wait-for" in docker_cmd and "--bridge br-int" in docker_cmd
        assert "--docker unix:///var/run/docker.sock" in docker_cmd
        kvm_cmd = box["program:nova-compute-kvm"]["command"]
        assert "--unix-socket /var/run/libvirt/libvirt-sock" in kvm_cmd
        for section in box.sections():
            if section.startswith("program:"):
                assert box[section]["killasgroup"] == "true"

    def test_without_managed_services(self, tmp_path):
        _plan, files = _render(tmp_path, "[host]\nmanage_services = false\n")
        assert "supervisord.d/host-services.conf" not in files
        assert "conf/libvirtd.conf" not in files

    def test_subset_of_managed_services(self, tmp_path):
        _plan, files = _render(tmp_path, "[host]\nmanaged_services = ovsdb-server,dockerd\n")
        host = _ini(files["supervisord.d/host-services.conf"])
        assert host["group:host-services"]["programs"] == "ovsdb-server,dockerd"
        assert "conf/libvirtd.conf" not in files

    def test_tcp_ovsdb_listens_on_loopback(self, tmp_path):
        _plan, files = _render(tmp_path, "[ovs]\novsdb_connection = tcp:127.0.0.1:6640\n")
        host = _ini(files["supervisord.d/host-services.conf"])
        assert "--remote=ptcp:6640:127.0.0.1" in host["program:ovsdb-server"]["command"]


class TestRefusals:
    """Every rule refuses a contradictory configuration with a message naming the fix."""

    def _refused(self, tmp_path, extra, rule):
        with pytest.raises(exception.RenderRuleBroken) as info:
            _render(tmp_path, extra)
        assert rule in str(info.value)
        assert "Fix:" in str(info.value)
        return str(info.value)

    def test_same_host_on_both_sides(self, tmp_path):
        message = self._refused(tmp_path, "[host]\ndocker_compute_host = same\n"
                                          "kvm_compute_host = same\n", "distinct host")
        assert "docker_compute_host" in message

    def test_docker_nodename_equal_to_libvirts(self, tmp_path):
        self._refused(tmp_path, "[host]\ndocker_nodename = box\n", "distinct nodename")

    def test_shares_exceeding_the_machine(self, tmp_path):
        self._refused(tmp_path, "[host]\ndocker_vcpus = 6\nkvm_vcpus = 3\n", "capacity")

    def test_reserve_larger_than_machine(self, tmp_path):
        self._refused(tmp_path, "[host]\nreserved_memory_mb = 40000\n", "capacity")

    def test_a_side_left_with_nothing(self, tmp_path):
        self._refused(tmp_path, "[host]\ndocker_vcpus = 8\n", "capacity")

    @pytest.mark.parametrize("conf_file, old, new, rule", [
        (rules.DOCKER_CONF, "state/nova-docker\n", "state/nova-kvm\n", "separate state_path"),
        (rules.DOCKER_CONF, "nova-docker/locks", "nova-kvm/locks", "separate lock_path"),
        (rules.DOCKER_CONF, "log_file = nova-compute-docker.log",
         "log_file = nova-compute-kvm.log", "separate log files"),
        (rules.AGENT_CONF, "host = box-kvm", "host = box-docker", "one agent"),
        (rules.KVM_CONF, "reserved_host_cpus = 4", "reserved_host_cpus = 3",
         "inventory equals offer"),
        (rules.DOCKER_CONF, "reserved_host_memory_mb = 0", "reserved_host_memory_mb = 512",
         "inventory equals offer"),
    ])
    def test_rules_read_the_rendered_files(self, tmp_path, conf_file, old, new, rule):
        """Rules that no configuration can break today are still checked on the output,
        so a renderer defect is refused rather than written."""
        plan, files = _render(tmp_path)
        files = dict(files)
        assert old in files[conf_file]
        files[conf_file] = files[conf_file].replace(old, new, 1)
        with pytest.raises(exception.RenderRuleBroken, match=rule):
            rules.check_all(files, plan)
