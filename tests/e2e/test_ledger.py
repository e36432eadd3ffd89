"""The capacity ledger against the running lab (``hybridhost lab up``): what
``lab status --json`` and ``status --json`` report is placement's own figures, and one
``hh.container.tiny`` grows the Docker side's use by exactly its flavor; a flavor it
says never fits gets "No valid host" from nova.

The commands run from the tree these tests import (``python -m hybridhost.cmd.main``
with that tree first on PYTHONPATH), not the copy installed for the lab.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

import hybridhost
from hybridhost.lab import demo
from tests.e2e import lab as e2e

TREE = os.path.dirname(os.path.dirname(os.path.abspath(hybridhost.__file__)))
RESOURCES = ("VCPU", "MEMORY_MB", "DISK_GB")


def _hybridhost(*argv):
    return subprocess.run([sys.executable, "-m", "hybridhost.cmd.main", "--config-file",
                           e2e.CONFIG] + list(argv), env=dict(os.environ, PYTHONPATH=TREE),
                          capture_output=True, text=True, timeout=300, check=False)


def _ledger(*command):
    proc = _hybridhost(*command, "--json")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)["ledger"]


def _placement(lab):
    """``{(side, resource): (capacity, used)}`` read straight from placement."""
    found = {}
    for side in lab.plan.sides:
        [provider] = lab.conn.placement.resource_providers(name=side.nodename)
        usages = lab.conn.placement.fetch_resource_provider_usages(provider).usages
        for inventory in lab.conn.placement.resource_provider_inventories(provider):
            found[side.key, inventory.resource_class] = (
                int((inventory.total - inventory.reserved) * inventory.allocation_ratio),
                usages.get(inventory.resource_class, 0))
    return found


def _figures(ledger):
    return {(r["side"], r["resource"]): (r["capacity"], r["used"])
            for r in ledger["resources"]}


def test_lab_status_reports_placement_capacity_and_use(lab):
    ledger = _ledger("lab", "status")
    assert ledger["placement"] == "read", ledger["unknown"]
    assert set(ledger["providers"]) == {"docker", "kvm"}
    figures = _figures(ledger)
    placement = _placement(lab)
    for key, (capacity, used) in figures.items():
        assert capacity == placement[key][0], key
        assert used is not None and used >= 0, key
    assert {r["flavor"] for r in ledger["room"]} == {spec.name for spec in demo.FLAVORS}


def test_box_status_reads_the_same_ledger_through_the_lab(lab):
    """Capacities only: others may boot on this shared lab between the two commands."""
    box, lab_status = _ledger("status"), _ledger("lab", "status")
    assert box["placement"] == lab_status["placement"] == "read"
    assert _capacities(box) == _capacities(lab_status)


def _capacities(ledger):
    return {(r["side"], r["resource"]): r["capacity"] for r in ledger["resources"]}


def _allocations(lab, provider):
    """``{consumer: {resource: amount}}`` on one provider."""
    body = lab.conn.placement.get("/resource_providers/%s/allocations" % provider).json()
    return {consumer: allocation["resources"]
            for consumer, allocation in body["allocations"].items()}


def _settled_ledger(lab, provider, attempts=30):
    """``(ledger, allocations)``: 'lab status --json' while the provider's allocations
    stayed the same (others may be booting on this shared lab)."""
    for _ in range(attempts):
        before = _allocations(lab, provider)
        ledger = _ledger("lab", "status")
        if _allocations(lab, provider) == before:
            return ledger, before
    pytest.fail("the allocations on %s kept changing during %d reads" % (provider, attempts))


def _sums(allocations, leave_out=()):
    return {resource: sum(amounts.get(resource, 0) for consumer, amounts in
                          allocations.items() if consumer not in leave_out)
            for resource in RESOURCES}


def test_one_tiny_container_grows_the_docker_side_use_by_its_flavor(lab):
    flavor = lab.conn.compute.find_flavor("hh.container.tiny", ignore_missing=False)
    [provider] = lab.conn.placement.resource_providers(name=lab.plan.docker.nodename)
    before, allocations_before = _settled_ledger(lab, provider.id)
    server = lab.conn.compute.create_server(
        name="hh-e2e-ledger-%s" % uuid.uuid4().hex[:6], flavor_id=flavor.id,
        image_id=lab.conn.image.find_image(demo.CONTAINER_IMAGE, ignore_missing=False).id,
        networks=[{"uuid": lab.conn.network.find_network(demo.NETWORK,
                                                         ignore_missing=False).id}])
    try:
        e2e.wait_active(lab.conn, server)
        after, allocations_after = _settled_ledger(lab, provider.id)
    finally:
        lab.conn.compute.delete_server(server, ignore_missing=True)
        lab.conn.compute.wait_for_delete(server, wait=180)
    for ledger, allocations in ((before, allocations_before), (after, allocations_after)):
        assert {r: _figures(ledger)["docker", r][1] for r in RESOURCES} == _sums(allocations)
    others = {r: _sums(allocations_after, {server.id})[r] - _sums(allocations_before)[r]
              for r in RESOURCES}
    grown = {r: _figures(after)["docker", r][1] - _figures(before)["docker", r][1] - others[r]
             for r in RESOURCES}
    assert grown == {"VCPU": flavor.vcpus, "MEMORY_MB": flavor.ram, "DISK_GB": flavor.disk}
    assert allocations_after[server.id] == grown


def test_a_flavor_the_ledger_says_never_fits_finds_no_valid_host(lab):
    """On a box whose Docker side offers 1 vCPU (2-vCPU machines), placement's VCPU
    max_unit is 1 and hh.container.large (2 vCPU) can never be placed, however much
    the ratio leaves free: the ledger says so before nova does."""
    never = [room for room in _ledger("lab", "status")["room"] if room["max_unit"]]
    if not never:
        pytest.skip("every demo flavor is within placement's max_unit on this box")
    room = never[0]
    flavor = lab.conn.compute.find_flavor(room["flavor"], ignore_missing=False)
    server = lab.conn.compute.create_server(
        name="hh-e2e-ledger-never-%s" % uuid.uuid4().hex[:6], flavor_id=flavor.id,
        image_id=_image_for(lab, room["side"]),
        networks=[{"uuid": lab.conn.network.find_network(demo.NETWORK,
                                                         ignore_missing=False).id}])
    try:
        failed = e2e.wait_error(lab.conn, server, timeout=120)
    finally:
        lab.conn.compute.delete_server(server, ignore_missing=True)
        lab.conn.compute.wait_for_delete(server, wait=180)
    assert "No valid host" in failed.fault["message"]


def _image_for(lab, side):
    name = demo.CONTAINER_IMAGE if side == "docker" else demo.GUEST_IMAGE
    return lab.conn.image.find_image(name, ignore_missing=False).id
