from hybridhost import doctor
from hybridhost import exception
from hybridhost import readiness
from tests.unit import confutils


def _by_name(results):
    return {r.name: r for r in results}


class TestDoctor:
    def test_missing_daemons_each_name_their_fix(self, tmp_path, monkeypatch):
        conf = confutils.load(tmp_path, "[docker]\nurl = unix://%s/none.sock\n"
                                        "[ovs]\novsdb_connection = unix:%s/none.sock\n"
                                        "[libvirt]\nsocket = %s/none.sock\n"
                                        % (tmp_path, tmp_path, tmp_path))
        results = _by_name(doctor.run(conf))
        for name in ("docker", "ovsdb", "libvirt"):
            assert results[name].failed
            assert "hybridhost up" in results[name].fix
        assert results["binaries"].failed and "/venv/bin/nova-compute" in \
            results["binaries"].detail
        assert results["rendered files"].status == "warn"

    def test_old_docker_api_is_refused(self, tmp_path, monkeypatch):
        monkeypatch.setattr(readiness, "docker_version", lambda url: "1.40")
        result = doctor.check_docker(confutils.load(tmp_path))
        assert result.failed and "older than the supported 1.41" in result.detail

    def test_wrong_bridge_datapath(self, tmp_path, monkeypatch):
        monkeypatch.setattr(readiness, "bridges", lambda c: {"br-int": "", "br-x": "netdev"})
        results = _by_name(doctor.check_ovs(confutils.load(tmp_path)))
        assert results["bridge datapath"].failed
        assert "br-int is system" in results["bridge datapath"].detail
        assert "datapath_type=netdev" in results["bridge datapath"].fix

    def test_kvm_without_dev_kvm(self, tmp_path, monkeypatch):
        monkeypatch.setattr(doctor.os, "access", lambda path, mode: False)
        results = _by_name(doctor.check_libvirt(confutils.load(
            tmp_path, "[libvirt]\nvirt_type = kvm\n")))
        assert results["virt_type"].failed and "virt_type = qemu" in results["virt_type"].fix

    def test_missing_qemu_img_is_named_with_its_package(self, tmp_path, monkeypatch):
        monkeypatch.setattr(doctor.shutil, "which",
                            lambda name: None if name == "qemu-img" else "/usr/bin/" + name)
        results = _by_name(doctor.check_libvirt(confutils.load(tmp_path)))
        assert results["qemu-img"].failed and "qemu-utils" in results["qemu-img"].fix

    def test_missing_genisoimage_is_named_when_vms_get_a_config_drive(self, tmp_path,
                                                                        monkeypatch):
        monkeypatch.setattr(doctor.shutil, "which",
                            lambda name: None if name == "genisoimage" else "/usr/bin/" + name)
        results = _by_name(doctor.check_libvirt(confutils.load(tmp_path)))
        assert results["config drive"].failed and "genisoimage" in results["config drive"].fix
        off = confutils.load(tmp_path, "[libvirt]\nforce_config_drive = false\n")
        assert "config drive" not in _by_name(doctor.check_libvirt(off))

    def test_contradictory_config(self, tmp_path):
        conf = confutils.load(tmp_path, "[host]\ndocker_nodename = box\n")
        plan, results = doctor.check_render(conf)
        assert plan is None and results[0].failed and "distinct nodename" in results[0].detail

    def test_unreachable_ovsdb_raises_translated_error(self, tmp_path):
        try:
            readiness.bridges("unix:%s/none.sock" % tmp_path)
        except exception.OvsdbUnavailable as err:
            assert "none.sock" in str(err)
        else:
            raise AssertionError("no error")


class TestReadinessWait:
    def test_returns_once_the_probe_is_ready(self):
        answers = iter(["not yet", "not yet", None])
        readiness.wait(lambda: next(answers), timeout=5, what="x", interval=0)

    def test_names_what_and_why_after_the_timeout(self):
        try:
            readiness.wait(lambda: "still down", timeout=0, what="RabbitMQ", interval=0)
        except exception.DependencyNotReady as err:
            assert "RabbitMQ" in str(err) and "still down" in str(err)
        else:
            raise AssertionError("no error")

    def test_tcp_and_http_probes_against_nothing(self):
        assert "127.0.0.1:1" in readiness.tcp_port(1)
        assert readiness.http("http://127.0.0.1:1/") is not None
