"""What the box renders for the watcher, and the watcher reading it back."""

import configparser

import pytest

from hybridhost import exception
from hybridhost import render
from hybridhost.watcher import topology
from tests.unit import confutils


def _files(tmp_path, extra=""):
    return render.render(confutils.load(tmp_path, extra))[1]


def test_the_listener_is_rendered_beside_the_box_programs(tmp_path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(_files(tmp_path)["supervisord.d/hybridhost.conf"])
    listener = parser["eventlistener:hybridhost-watcher"]
    assert listener["events"] == "TICK_5,PROCESS_STATE"
    assert listener["command"] == ("/venv/bin/hybridhost-watcher --config-file %s/etc/conf/"
                                   "watcher.conf" % tmp_path)
    assert "redirect_stderr" not in listener and "stdout_logfile" not in listener
    assert parser["group:hybridhost"]["programs"] == (
        "neutron-openvswitch-agent,nova-compute-docker,nova-compute-kvm")


def test_every_rpc_server_answers_pings(tmp_path):
    files = _files(tmp_path)
    for rel in ("conf/nova-docker.conf", "conf/nova-kvm.conf",
                "conf/neutron-openvswitch-agent.conf"):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(files[rel])
        assert parser["DEFAULT"]["rpc_ping_enabled"] == "true", rel


@pytest.mark.parametrize("extra, durable", [
    ("", False), ("[openstack]\namqp_durable_queues = true\n", True)])
def test_every_service_on_the_bus_declares_its_queues_alike(tmp_path, extra, durable):
    """An exchange declared durable by one service and not by another is refused by
    RabbitMQ (PRECONDITION_FAILED): the computes and the agent agree. The watcher only
    checks exchanges passively and publishes, so it declares nothing of theirs."""
    files = _files(tmp_path, extra)
    for rel in ("conf/nova-docker.conf", "conf/nova-kvm.conf",
                "conf/neutron-openvswitch-agent.conf"):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(files[rel])
        assert parser.getboolean("oslo_messaging_rabbit", "amqp_durable_queues") is durable
    assert "durable" not in files["conf/watcher.conf"]


def test_the_topology_read_back(tmp_path):
    path = tmp_path / "watcher.conf"
    path.write_text(_files(tmp_path)["conf/watcher.conf"])
    topo = topology.load(str(path))
    assert topo.programs["hybridhost:nova-compute-docker"] == topology.Program(
        "hybridhost:nova-compute-docker",
        ("hybridhost:neutron-openvswitch-agent", "host-services:dockerd"),
        "compute", "box-docker", "nova")
    agent = topo.programs["hybridhost:neutron-openvswitch-agent"]
    assert (agent.rpc_exchange, agent.rpc_topic, agent.rpc_server) == (
        "neutron", "q-agent-notifier-tunnel-update", "box-kvm")
    assert topo.dependents("host-services:ovsdb-server") == [
        "host-services:ovs-vswitchd", "hybridhost:neutron-openvswitch-agent",
        "hybridhost:nova-compute-docker", "hybridhost:nova-compute-kvm"]
    assert topo.dependents("host-services:dockerd") == ["hybridhost:nova-compute-docker"]
    assert [s.kind for s in topo.services] == ["ovsdb", "unixctl", "docker", "libvirt"]
    assert topo.settings.state_file == "%s/run/hybridhost-watcher.json" % tmp_path
    assert topo.settings.metrics_port is None
    assert (topo.settings.vif_interval, topo.settings.vif_repair) == (300, True)
    assert topo.vifs == {
        "bridge": "br-int", "owner": "box-docker", "prefix": "hhd",
        "ovsdb_connection": "unix:/var/run/openvswitch/db.sock",
        "docker_url": "unix:///var/run/docker.sock", "docker_api_version": "1.41",
        "instances_path": "%s/state/nova-docker/instances" % tmp_path, "bin_dir": "/venv/bin",
        "helper_config": "%s/etc/conf/nova-docker.conf" % tmp_path}


def test_without_host_services_the_chain_starts_at_the_agent(tmp_path):
    path = tmp_path / "watcher.conf"
    path.write_text(_files(tmp_path, "[host]\nmanage_services = false\n")["conf/watcher.conf"])
    topo = topology.load(str(path))
    assert sorted(topo.programs) == ["hybridhost:neutron-openvswitch-agent",
                                     "hybridhost:nova-compute-docker",
                                     "hybridhost:nova-compute-kvm"]
    assert all(s.program is None for s in topo.services)


def test_disabled_watcher_renders_nothing(tmp_path):
    files = _files(tmp_path, "[watcher]\nenabled = false\n")
    assert "conf/watcher.conf" not in files
    assert "eventlistener" not in files["supervisord.d/hybridhost.conf"]


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "example.com"])
def test_metrics_only_on_loopback(tmp_path, host):
    with pytest.raises(exception.ConfigInvalid) as info:
        confutils.load(tmp_path, "[watcher]\nmetrics_port = 9109\nmetrics_host = %s\n" % host)
    assert "[watcher] metrics_host" in str(info.value)


def test_a_broken_watcher_conf_is_config_invalid(tmp_path):
    path = tmp_path / "watcher.conf"
    path.write_text("[watcher]\ncheck_interval = soon\n")
    with pytest.raises(exception.ConfigInvalid) as info:
        topology.load(str(path))
    assert str(path) in str(info.value) and "hybridhost render" in str(info.value)
