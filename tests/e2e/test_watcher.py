"""The watcher's RPC liveness call and 'hybridhost status' against the running lab.

Read-only: pings over the lab's bus and a status; nothing is restarted. The topology is
rendered in memory from the lab's hybridhost.conf by this tree.
"""

import json
import os
import signal
import subprocess
import sys
import uuid

import pytest

import hybridhost
from hybridhost import render
from hybridhost.watcher import probes
from hybridhost.watcher import rpc
from hybridhost.watcher import topology
from tests.e2e import lab as e2e
from tests.functional import base
from tests.functional import watcher_box

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


def test_a_wedged_rpc_service_is_detected_and_restarted(topo):
    """A dummy RPC service on the lab's bus, under a private supervisord with the
    watcher: it answers its ping, then stops consuming (SIGUSR1) while its process runs
    on; the watcher finds it silent and restarts it after rpc_hang_timeout."""
    base.require(os.path.exists(os.path.join(watcher_box.BIN, "supervisord")),
                 "supervisord is not installed beside this Python")
    # One fixed name: each run reuses the two queues it leaves on the lab's RabbitMQ.
    server = "hh-e2e-watcher"
    dummy = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rpc_dummy.py")
    command = " ".join([sys.executable, dummy, topo.settings.transport_url, "hh-e2e-watcher",
                        "hh-e2e-watcher", server])
    settings = ("rpc_timeout = 3\nrpc_hang_timeout = 10\ntransport_url = %s\n"
                "\n[program:demo:rpc]\nrpc_exchange = hh-e2e-watcher\nrpc_topic = hh-e2e-watcher\n"
                "rpc_server = %s\n" % (topo.settings.transport_url, server))
    box = watcher_box.Box([watcher_box.program("rpc", command, startsecs=2)],
                          settings=settings).start()
    try:
        box.wait(lambda: "rpc ping" in _part(box, "demo:rpc").get("detail", ""), 60,
                 "a round that pinged the dummy")
        old = box.pid("demo:rpc")
        os.kill(old, signal.SIGUSR1)
        box.wait(lambda: "rpc: " in _part(box, "demo:rpc").get("detail", ""), 30,
                 "the silence reported")
        assert _part(box, "demo:rpc")["health"] == "degraded"
        box.wait(lambda: box.state("demo:rpc") == "RUNNING" and box.pid("demo:rpc") != old,
                 60, "the wedged service restarted")
        assert "demo:rpc: restart, because no answer to oslo_rpc_server_ping on " \
               "hh-e2e-watcher.%s within 3 s" % server in box.log()
    finally:
        box.stop()


def _part(box, name):
    try:
        with open(box.report_path()) as handle:
            return {p["part"]: p for p in json.load(handle)["parts"]}.get(name, {})
    except (OSError, ValueError):
        return {}


def test_the_vif_check_reads_the_labs_bridge(topo):
    """Read-only (no repairs): the check the watcher runs, on the lab's integration
    bridge; the lab's own 'hybridhost vifs' is the reference for what it finds."""
    from hybridhost.bridge_ports import sources
    from hybridhost.cmd import vifs as vifs_cmd
    from hybridhost.watcher import vifs

    found = dict(topo.vifs)
    vifs_cmd.use_privsep_helper(found.pop("bin_dir"), found.pop("helper_config"))
    check = vifs.VifCheck(lambda: sources.LiveBox.connect(sources.Settings(**found)),
                          repair_them=False)
    reason = check()
    vifs_cmd = subprocess.run([sys.executable, "-m", "hybridhost.cmd.main", "--config-file",
                               e2e.CONFIG, "vifs"], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=TREE), timeout=120, check=False)
    assert (reason is None) == (vifs_cmd.returncode == 0), (reason, vifs_cmd.stdout[-2000:])


def test_the_labs_libvirtd_answers_the_probe_within_the_deadline(lab):
    answer = probes.Deadlines().run(
        {"libvirt": lambda: probes.KINDS["libvirt"]("qemu:///system", 5)}, 10)["libvirt"]
    assert answer.ok, answer.reason
    assert answer.latency < 10
