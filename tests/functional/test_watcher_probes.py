"""The watcher's daemon probes against the REAL daemons at their default sockets
(read-only: OVSDB list_dbs, ovs-vswitchd's 'version', Docker's version)."""

import os

import pytest

from hybridhost.watcher import probes
from tests.functional import base

OVSDB = "unix:/var/run/openvswitch/db.sock"
OVS_RUNDIR = "/var/run/openvswitch"
VSWITCHD_CTL = os.path.join(OVS_RUNDIR, "ovs-vswitchd.ctl")
DOCKER = "unix:///var/run/docker.sock"


def _need(path, what):
    base.require(os.path.exists(path), "%s is not running (no %s)" % (what, path))


@pytest.mark.parametrize("kind,target,path,what", [
    ("ovsdb", OVSDB, OVSDB[len("unix:"):], "ovsdb-server"),
    ("unixctl", VSWITCHD_CTL, OVS_RUNDIR, "ovs-vswitchd"),
    ("docker", DOCKER, DOCKER[len("unix://"):], "dockerd"),
])  # libvirtd runs in the lab only: tests/e2e/test_watcher.py probes it
def test_a_running_daemon_answers_within_the_deadline(kind, target, path, what):
    base.require_root()
    _need(path, what)
    answer = probes.Deadlines().run({kind: lambda: probes.KINDS[kind](target, 5)}, 10)[kind]
    assert answer.ok, answer.reason
    assert answer.latency < 10


@pytest.mark.parametrize("kind,target", [
    ("ovsdb", "unix:/nonexistent/db.sock"), ("unixctl", "/nonexistent/ovs-vswitchd.ctl"),
    ("docker", "unix:///nonexistent/docker.sock"),
    ("libvirt", "qemu+unix:///system?socket=/nonexistent/libvirt-sock")])
def test_a_missing_daemon_is_a_reason_not_an_error(kind, target):
    answer = probes.Deadlines().run({kind: lambda: probes.KINDS[kind](target, 2)}, 5)[kind]
    assert not answer.ok
    assert "nonexistent" in answer.reason or "No such file" in answer.reason, answer.reason
