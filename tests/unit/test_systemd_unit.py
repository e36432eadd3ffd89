"""hybridhost.service: the systemd unit ``render`` writes where systemd runs the machine."""

import configparser
import os
import shutil
import subprocess
import sys

import pytest

from hybridhost import plan as box_plan
from hybridhost.render import systemd
from tests.functional import base
from tests.unit import confutils


def _unit(tmp_path, extra=""):
    conf = confutils.load(tmp_path, extra)
    plan = box_plan.build(conf)
    return conf, plan, systemd.render_unit(conf, plan)


def _sections(text):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string(text)
    return parser


def test_the_unit_runs_the_box_up_in_the_foreground_and_down_at_stop(tmp_path):
    conf, plan, text = _unit(tmp_path)
    unit = _sections(text)
    config = os.path.join(str(tmp_path), "hybridhost.conf")
    assert unit["Service"]["ExecStart"] == (
        "/venv/bin/hybridhost --config-file %s up --foreground" % config)
    assert unit["Service"]["ExecStop"] == "/venv/bin/hybridhost --config-file %s down" % config
    assert (unit["Service"]["Type"], unit["Service"]["Restart"]) == ("simple", "on-failure")
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert unit["Unit"]["Wants"] == "network-online.target"


def test_after_names_only_the_host_services_the_box_does_not_run(tmp_path):
    managed_all = _sections(_unit(tmp_path)[2])["Unit"]["After"]
    assert managed_all == "network-online.target"
    some = _sections(_unit(tmp_path, "[host]\nmanaged_services = ovsdb-server,ovs-vswitchd,"
                                     "dockerd\n")[2])["Unit"]["After"]
    assert some == "network-online.target libvirtd.service virtlogd.service"
    none = _sections(_unit(tmp_path, "[host]\nmanage_services = false\n")[2])["Unit"]["After"]
    assert none == ("network-online.target docker.service libvirtd.service "
                    "openvswitch-switch.service virtlogd.service")


def test_words_with_spaces_are_quoted_for_systemd(tmp_path):
    assert systemd._quote("/etc/my box/h.conf") == '"/etc/my box/h.conf"'  # noqa: SLF001
    assert systemd._quote("100%") == '"100%%"'  # noqa: SLF001
    assert systemd._quote("/plain/path") == "/plain/path"  # noqa: SLF001


@pytest.mark.parametrize("setting,running,expected", [
    ("auto", True, True), ("auto", False, False), ("yes", False, True), ("no", True, False)])
def test_wanted_follows_the_option_and_whether_systemd_runs(tmp_path, setting, running,
                                                            expected):
    conf = confutils.load(tmp_path, "[host]\nsystemd_unit = %s\n" % setting)
    assert systemd.wanted(conf, running) is expected


def test_written_and_enabled_once_then_a_disable_stays(tmp_path):
    conf, plan, text = _unit(tmp_path)
    unit_dir = str(tmp_path / "units")
    reloads = []
    path = systemd.put_in_place(conf, plan, unit_dir, True, reload=lambda: reloads.append(1))
    link = os.path.join(unit_dir, "multi-user.target.wants", "hybridhost.service")
    assert path == os.path.join(unit_dir, "hybridhost.service")
    assert open(path).read() == text and os.readlink(link) == path
    assert oct(os.stat(path).st_mode & 0o777) == "0o644" and reloads == [1]
    os.unlink(link)  # systemctl disable
    assert systemd.put_in_place(conf, plan, unit_dir, True, reload=lambda: reloads.append(1)) \
        is None
    with open(path, "a") as handle:
        handle.write("# edited\n")
    assert systemd.put_in_place(conf, plan, unit_dir, True, reload=lambda: reloads.append(1)) \
        == path
    assert not os.path.lexists(link) and reloads == [1, 1]


def test_render_writes_it_only_when_wanted(tmp_path):
    conf = confutils.load(tmp_path, "[host]\nsystemd_unit = no\n")
    assert systemd.install(conf, box_plan.build(conf)) is None
    assert not os.path.exists(str(tmp_path / "systemd"))
    conf = confutils.load(tmp_path, "[host]\nsystemd_unit = yes\n")
    path = systemd.install(conf, box_plan.build(conf))
    assert path == str(tmp_path / "systemd" / "hybridhost.service")


def test_render_elsewhere_puts_it_under_the_output_and_enables_nothing(tmp_path):
    conf = confutils.load(tmp_path, "[host]\nsystemd_unit = yes\n")
    out = str(tmp_path / "out")
    path = systemd.install(conf, box_plan.build(conf), out)
    assert path == os.path.join(out, "systemd", "hybridhost.service")
    assert os.listdir(os.path.join(out, "systemd")) == ["hybridhost.service"]


def test_systemd_analyze_verifies_the_unit(tmp_path):
    """systemd-analyze needs no running systemd; ExecStart's program must exist, so
    the unit names this interpreter's bin directory (where 'hybridhost' is installed)."""
    base.require_binaries("systemd-analyze")
    bin_dir = os.path.dirname(sys.executable)
    base.require(os.access(os.path.join(bin_dir, "hybridhost"), os.X_OK),
                 "no hybridhost in %s: install the project's venv" % bin_dir)
    conf = confutils.load(tmp_path, "[paths]\nbin_dir = %s\n" % bin_dir)
    path = tmp_path / "hybridhost.service"
    path.write_text(systemd.render_unit(conf, box_plan.build(conf)))
    proc = subprocess.run([shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze",
                           "verify", str(path)], capture_output=True, text=True, check=False)
    # verify exits 0 on some problems (an unknown key, a bad value): its output counts too.
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")
