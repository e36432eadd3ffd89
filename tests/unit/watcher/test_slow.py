"""The slow checks' child as the listener sees it: a real child process (a small Python
script standing in for 'hybridhost-watcher --slow-checks'), its answer turned into status
rows and metrics, and every way it can fail as a reason; then the real child's run on a
box with no bridge, no ledger and no libvirtd."""

import json
import sys

import prometheus_client
import pytest

from hybridhost.cmd import watcher_checks
from hybridhost.watcher import metrics
from hybridhost.watcher import slow
from hybridhost.watcher import topology

LEDGER = {"placement": "read", "unknown": None, "resources": [
    {"side": "docker", "resource": "VCPU", "unit": "vCPU", "capacity": 128, "used": 2,
     "free": 126, "matches_plan": True, "over_used": False},
    {"side": "kvm", "resource": "MEMORY_MB", "unit": "MiB", "capacity": 9050, "used": 9100,
     "free": -50, "matches_plan": True, "over_used": True}]}
ANSWER = {"vifs": {"reason": None, "seen": [["replug", "hhd1", "u1"]], "figures": {
    "ports": {"docker": 2, "agent": 5}, "problems": {"vif-missing": 1},
    "containers": {"running": 2}}}, "instances": {"docker": 2, "kvm": "libvirt: refused"},
    "ledger": LEDGER}


def _child(answer, code=0, stderr=""):
    """A child that echoes its request to stderr's last line and answers ``answer``."""
    script = ("import json, sys; request = sys.stdin.read(); "
              "print(%r + request, file=sys.stderr); print(%r); sys.exit(%d)"
              % (stderr, answer if isinstance(answer, str) else json.dumps(answer), code))
    return [sys.executable, "-c", script]


def test_the_childs_answer_becomes_rows_and_metrics():
    m = metrics.Metrics()
    check = slow.SlowChecks(_child(ANSWER), m)
    rows = check()
    assert rows == [
        ("vifs", "check", True, "no problem", None),
        ("ledger:docker", "ledger", True, "2 instance(s); VCPU 2/128 vCPU (126 free)"),
        ("ledger:kvm", "ledger", False, "instances unknown (libvirt: refused); "
                                        "MEMORY_MB 9100/9050 MiB (-50 free)")]
    text = prometheus_client.generate_latest(m.registry).decode()
    for line in ('hybridhost_instances{side="docker"} 2.0',
                 'hybridhost_ledger_capacity{resource="VCPU",side="docker"} 128.0',
                 'hybridhost_ledger_used{resource="MEMORY_MB",side="kvm"} 9100.0',
                 'hybridhost_vif_problems{code="vif-missing"} 1.0',
                 'hybridhost_bridge_ports{owner="docker"} 2.0'):
        assert line in text, line


def test_what_the_last_check_found_to_repair_is_given_to_the_next_child(tmp_path):
    check = slow.SlowChecks(_child(ANSWER), metrics.NullMetrics())
    check()
    check.argv = _child(ANSWER, code=1, stderr="request: ")
    with pytest.raises(slow.ChildFailed) as failed:
        check()
    assert str(failed.value) == ('the slow checks\' child exited 1: request: '
                                 '{"seen": [["replug", "hhd1", "u1"]]}')


@pytest.mark.parametrize("answer,why", [("not json", "answered no JSON"),
                                        ("[1, 2]", "answered list")])
def test_a_child_that_answers_no_object_fails_with_the_reason(answer, why):
    with pytest.raises(slow.ChildFailed, match=why):
        slow.SlowChecks(_child(answer), metrics.NullMetrics())()


def test_a_child_that_takes_too_long_is_cut():
    argv = [sys.executable, "-c", "import time; time.sleep(5)"]
    with pytest.raises(slow.ChildFailed, match="timed out after 0.3 seconds"):
        slow.SlowChecks(argv, metrics.NullMetrics(), timeout=0.3)()


def test_a_ledger_placement_could_not_read_is_a_degraded_row_with_the_reason():
    rows = slow.rows({"instances": {"docker": 0},
                      "ledger": {"placement": "unknown", "unknown": "keystone refused"}})
    assert rows[0] == ("ledger:docker", "ledger", False,
                       "0 instance(s); ledger unknown: keystone refused")


def test_the_real_child_on_a_box_with_nothing_to_read(tmp_path):
    settings = topology.Settings(vif_interval=60, box_config=str(tmp_path / "none.conf"))
    topo = topology.Topology(settings, {}, (topology.Service(
        "libvirt", "libvirt", "qemu+unix:///system?socket=%s" % (tmp_path / "sock")),))
    found = watcher_checks.run(topo, [])
    assert set(found) == {"instances"}
    assert found["instances"]["kvm"].startswith("libvirt: ")


def test_the_vif_rows_problems_name_each_port_and_an_error_names_none():
    keys = ["orphan hhd2", "vif-broken hhd1"]
    vifs_row = slow.rows({"vifs": {"reason": "2 problem(s) on br-int: ...", "problems": keys}})[0]
    assert vifs_row == ("vifs", "check", False, "2 problem(s) on br-int: ...", keys)
    vifs_row = slow.rows({"vifs": {"error": "the check failed: OSError: x"}})[0]
    assert vifs_row == ("vifs", "check", False, "the check failed: OSError: x", None)
