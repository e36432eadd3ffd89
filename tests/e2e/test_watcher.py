"""The watcher's RPC liveness call and 'hybridhost status' against the running lab.

Read-only: pings over the lab's bus and a status; nothing is restarted. The topology is
rendered in memory from the lab's hybridhost.conf by this tree.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

import hybridhost
from hybridhost import render
from hybridhost.watcher import rpc
from hybridhost.watcher import topology
from tests.e2e import lab as e2e

TREE = os.path.dirname(os.path.dirname(os.path.abspath(hybridhost.__file__)))


@pytest.fixture(scope="module")
def topo(lab, tmp_path_factory):
    path = tmp_path_factory.mktemp("watcher") / "watcher.conf"
    path.write_text(render.render(lab.conf)[1]["conf/watcher.conf"])
    return topology.load(str(path))


@pytest.fixture(scope="module")
def pinger(topo):
    pinger = rpc.Pinger(topo.settings.transport_url, timeout=15)
    yield pinger
    pinger.close()


def test_each_compute_and_the_agent_answer_by_their_host(lab, topo, pinger):
    """compute.<box>-docker, compute.<box>-kvm and the agent's topic on <box>-kvm."""
    targets = sorted((p.rpc_exchange, p.rpc_topic, p.rpc_server)
                     for p in topo.programs.values() if p.rpc_topic)
    assert targets == sorted([("nova", "compute", lab.plan.docker.host),
                              ("nova", "compute", lab.plan.kvm.host),
                              ("neutron", "q-agent-notifier-tunnel-update",
                               lab.plan.agent.host)])
    for exchange, topic, server in targets:
        kind, note = pinger.ping(topic, server, exchange)
        assert kind is None, "%s.%s: %s" % (topic, server, note)
        print("%s/%s.%s: %s" % (exchange, topic, server, note or "pong"))


def test_a_host_nobody_serves_is_silent(pinger):
    kind, reason = pinger.ping("compute", "hh-nobody-%s" % uuid.uuid4().hex[:8], "nova")
    assert kind == rpc.SILENT and "within 15 s" in reason


def test_status_has_every_part_and_an_exit_code_for_its_health(lab):
    proc = subprocess.run([sys.executable, "-m", "hybridhost.cmd.main", "--config-file",
                           e2e.CONFIG, "status", "--json"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=TREE), timeout=120, check=False)
    data = json.loads(proc.stdout)
    assert proc.returncode == {"healthy": 0, "degraded": 1, "down": 2}[data["health"]]
    parts = {p["part"]: p for p in data["parts"]}
    for side in (lab.plan.docker, lab.plan.kvm, lab.plan.agent):
        assert parts["hybridhost:%s" % side.program]["state"] == "RUNNING"
