"""Who holds the box's TCP ports (hybridhost.listeners), and 'up' and 'doctor' asking
before supervisord starts. psutil's connection list is replaced by hand-made rows;
tests/functional/test_listeners.py runs the same against the kernel's."""

import collections
import os

import psutil
import pytest

from hybridhost import box
from hybridhost import doctor
from hybridhost import exception
from hybridhost import listeners
from hybridhost import progress as progress_lines
from tests.unit import confutils

LAB = "[lab]\nenabled = true\nneutron_port = 19696\nrabbit_port = 15672\n"


#: What listeners reads of psutil's connection rows.
Address = collections.namedtuple("Address", "ip port")
Connection = collections.namedtuple("Connection", "laddr status pid")


def _listening(port, pid, ip="127.0.0.1", status=psutil.CONN_LISTEN):
    return Connection(Address(ip, port), status, pid)


def _fake_connections(monkeypatch, rows):
    monkeypatch.setattr(psutil, "net_connections", lambda kind="inet": list(rows))


class TestBoxPorts:
    def test_without_the_lab_only_the_agents_openflow_port(self, tmp_path):
        conf = confutils.load(tmp_path, "[ovs]\nof_listen_port = 16633\n")
        assert listeners.box_ports(conf) == {16633: "[ovs] of_listen_port"}

    def test_the_lab_adds_each_service_and_the_optional_listeners(self, tmp_path):
        conf = confutils.load(tmp_path, LAB + "[watcher]\nmetrics_port = 19100\n"
                              "[supervisor]\ninet_port = 19001\ninet_password = x\n")
        ports = listeners.box_ports(conf)
        assert ports[19696] == "[lab] neutron_port"
        assert ports[15672] == "[lab] rabbit_port"
        assert ports[19100] == "[watcher] metrics_port"
        assert ports[19001] == "[supervisor] inet_port"


class TestHolders:
    PORTS = {19696: "[lab] neutron_port", 15672: "[lab] rabbit_port"}

    def test_a_listener_on_loopback_or_a_wildcard_holds_the_port(self):
        rows = [_listening(19696, os.getpid()), _listening(15672, os.getpid(), ip="::")]
        found = listeners.holders(self.PORTS, rows)
        assert [(h.port, h.option, h.pid) for h in found] == [
            (15672, "[lab] rabbit_port", os.getpid()), (19696, "[lab] neutron_port",
                                                        os.getpid())]
        assert "pytest" in found[0].command or "python" in found[0].command

    def test_other_ports_addresses_and_states_do_not(self):
        rows = [_listening(19697, 1), _listening(19696, 1, ip="10.0.0.5"),
                _listening(19696, 1, status=psutil.CONN_ESTABLISHED)]
        assert listeners.holders(self.PORTS, rows) == []

    def test_a_holder_this_user_cannot_see_is_still_named(self):
        holder, = listeners.holders(self.PORTS, [_listening(19696, None)])
        assert str(holder) == ("port 19696 ([lab] neutron_port) is held by a process "
                               "this user cannot see")

    def test_strangers_leave_out_supervisord_and_its_children(self, tmp_path):
        conf = confutils.load(tmp_path, LAB)
        mine = _listening(19696, os.getpid())
        assert listeners.strangers(conf, os.getppid(), [mine]) == []
        assert [h.pid for h in listeners.strangers(conf, None, [mine])] == [os.getpid()]


class TestUpRefuses:
    def test_up_names_the_holder_and_renders_nothing(self, tmp_path, monkeypatch):
        conf = confutils.load(tmp_path, "[host]\nmanage_services = false\n"
                                        "[ovs]\nof_listen_port = 16633\n")
        _fake_connections(monkeypatch, [_listening(16633, os.getpid())])
        monkeypatch.setattr(box, "TAKEN_PORT_GRACE_S", 0)
        monkeypatch.setattr(box, "is_up", lambda _conf: False)
        monkeypatch.setattr(box, "start_supervisord", _must_not_start)
        with pytest.raises(exception.PortsTaken) as caught:
            box.up(conf, progress_lines.Progress([].append))
        message = str(caught.value)
        assert "port 16633 ([ovs] of_listen_port) is held by pid %d" % os.getpid() in message
        assert "kill %d" % os.getpid() in message
        assert not (tmp_path / "etc").exists()

    def test_a_holder_that_goes_within_the_grace_is_waited_for(self, tmp_path,
                                                               monkeypatch):
        conf = confutils.load(tmp_path, "[ovs]\nof_listen_port = 16633\n")
        answers = [[_listening(16633, os.getpid())], [_listening(16633, os.getpid())], []]
        monkeypatch.setattr(psutil, "net_connections", lambda kind="inet": answers.pop(0))
        box.refuse_taken_ports(conf, grace=5)
        assert answers == []

    def test_a_running_box_is_not_asked(self, tmp_path, monkeypatch):
        conf = confutils.load(tmp_path)
        monkeypatch.setattr(box, "is_up", lambda _conf: True)
        monkeypatch.setattr(listeners, "strangers", _must_not_start)
        monkeypatch.setattr(box, "render_to_disk", _stop_here)
        with pytest.raises(_Stopped):
            box.up(conf, progress_lines.Progress([].append))


class TestDoctorPorts:
    def test_a_stranger_fails_with_its_fix(self, tmp_path, monkeypatch):
        conf = confutils.load(tmp_path, LAB)
        _fake_connections(monkeypatch, [_listening(19696, os.getpid())])
        result = doctor.check_ports(conf)
        assert result.failed and "port 19696 ([lab] neutron_port)" in result.detail
        assert "stop that process" in result.fix

    def test_holders_hidden_from_a_user_who_is_not_root_are_a_warning(
            self, tmp_path, monkeypatch):
        conf = confutils.load(tmp_path, LAB)
        _fake_connections(monkeypatch, [_listening(19696, None)])
        monkeypatch.setattr(os, "geteuid", lambda: 1000)
        result = doctor.check_ports(conf)
        assert result.status == "warn" and "as root" in result.fix

    def test_free_ports_pass(self, tmp_path, monkeypatch):
        conf = confutils.load(tmp_path, LAB)
        _fake_connections(monkeypatch, [])
        result = doctor.check_ports(conf)
        assert not result.failed and "free" in result.detail


class _Stopped(Exception):
    pass


def _stop_here(*_args, **_kwargs):
    raise _Stopped()


def _must_not_start(*_args, **_kwargs):
    raise AssertionError("called although it must not be")
