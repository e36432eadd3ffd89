"""The capacity ledger against the running lab (``hybridhost lab up``): what
``lab status --json`` and ``status --json`` report is placement's own figures, and one
``hh.container.tiny`` grows the Docker side's use by exactly its flavor; a container may
ask every CPU of the machine, and a flavor above placement's max_unit gets "No valid host".

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
from hybridhost.virt.docker import engine
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


def _docker_vcpu_max_unit():
    line = next(r for r in _ledger("lab", "status")["resources"]
                if (r["side"], r["resource"]) == ("docker", "VCPU"))
    return line["placement"]["max_unit"]


def _boot(lab, flavor, side):
    return lab.conn.compute.create_server(
        name="hh-e2e-ledger-%s" % uuid.uuid4().hex[:6], flavor_id=flavor.id,
        image_id=_image_for(lab, side),
        networks=[{"uuid": lab.conn.network.find_network(demo.NETWORK,
                                                         ignore_missing=False).id}])


def _delete(lab, server):
    lab.conn.compute.delete_server(server, ignore_missing=True)
    lab.conn.compute.wait_for_delete(server, wait=180)


def test_a_container_may_ask_every_cpu_of_the_machine(lab):
    """The Docker side offers 1 vCPU of a 2-vCPU machine, yet hh.container.large (2 vCPU)
    is placed: a container's vCPUs are a CFS limit over the machine's CPUs."""
    max_unit = _docker_vcpu_max_unit()
    assert max_unit == max(os.cpu_count(), 1)
    flavor = lab.conn.compute.find_flavor("hh.container.large", ignore_missing=False)
    server = _boot(lab, flavor, "docker")
    try:
        e2e.wait_active(lab.conn, server)
        container = lab.docker().containers.get(engine.container_name(server.id))
        assert container.attrs["HostConfig"]["NanoCpus"] == flavor.vcpus * 10 ** 9
    finally:
        _delete(lab, server)


def test_a_flavor_above_max_unit_finds_no_valid_host_as_the_ledger_says(lab):
    """One vCPU more than placement's max_unit (the machine's CPUs): whatever the ratio
    leaves free, nova says "No valid host", which the ledger's rule predicts."""
    max_unit = _docker_vcpu_max_unit()
    flavor = lab.conn.compute.create_flavor(
        name="hh-e2e-too-wide-%s" % uuid.uuid4().hex[:6], vcpus=max_unit + 1, ram=64,
        disk=1, is_public=True)
    try:
        lab.conn.compute.create_flavor_extra_specs(
            flavor, {"trait:%s" % demo.TRAIT_DOCKER: "required"})
        server = _boot(lab, flavor, "docker")
        try:
            failed = e2e.wait_error(lab.conn, server, timeout=120)
        finally:
            _delete(lab, server)
        assert "No valid host" in failed.fault["message"]
    finally:
        lab.conn.compute.delete_flavor(flavor, ignore_missing=True)


def _image_for(lab, side):
    name = demo.CONTAINER_IMAGE if side == "docker" else demo.GUEST_IMAGE
    return lab.conn.image.find_image(name, ignore_missing=False).id
