"""The watcher's VIF check on a whole fake box (tests/unit/bridge_ports/fake_box.py):
a problem is repaired only when the next check finds it again; others' ports never."""

import pytest

from hybridhost.watcher import vifs
from tests.unit.bridge_ports import fake_box


@pytest.fixture
def world(tmp_path):
    return fake_box.FakeBox(str(tmp_path))


def _check(world, repair_them=True):
    return vifs.VifCheck(lambda: world.box, repair_them=repair_them)


def test_a_healthy_bridge_is_no_reason(world):
    world.spawn(fake_box.UUID_A, fake_box.SPEC_A)
    fake_box.with_foreign(world)
    assert _check(world)() is None


def test_a_missing_vif_is_replugged_at_the_second_check_in_a_row(world):
    world.spawn(fake_box.UUID_A, fake_box.SPEC_A)
    name = fake_box.SPEC_A.host_ifname
    del world.ovs.ports[name]
    check = _check(world)
    first = check()
    assert first.startswith("1 problem(s) on br-int: vif-missing %s" % name)
    assert check.problems == ["vif-missing %s" % name]
    assert name not in world.ovs.ports
    assert check() is None
    assert check.problems == []
    assert world.ovs.ports[name].iface_id == fake_box.SPEC_A.port_id


def test_without_repairs_it_only_reports(world):
    world.spawn(fake_box.UUID_A, fake_box.SPEC_A)
    del world.ovs.ports[fake_box.SPEC_A.host_ifname]
    check = _check(world, repair_them=False)
    check()
    assert "vif-missing" in check()
    assert fake_box.SPEC_A.host_ifname not in world.ovs.ports


def test_broken_foreign_ports_are_reported_never_touched(world):
    fake_box.with_foreign(world, broken=True)
    before = world.foreign_state(fake_box.FOREIGN)
    check = _check(world)
    check()
    reason = check()
    assert "dead-vlan %s" % fake_box.TAP in reason
    assert world.foreign_state(fake_box.FOREIGN) == before


def test_a_box_that_cannot_be_read_is_connected_again_next_time(world):
    calls = []

    def connect():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("OVSDB refused")
        return world.box

    check = vifs.VifCheck(connect)
    with pytest.raises(OSError):
        check()
    assert check() is None and len(calls) == 2


def test_each_check_is_observed_for_the_metrics(world):
    import prometheus_client

    from hybridhost.watcher import metrics

    m = metrics.Metrics()
    world.spawn(fake_box.UUID_A, fake_box.SPEC_A)
    fake_box.with_foreign(world, broken=True)
    vifs.VifCheck(lambda: world.box, observe=m.bridge)()
    text = prometheus_client.generate_latest(m.registry).decode()
    assert 'hybridhost_bridge_ports{owner="docker"} 1.0' in text
    assert 'hybridhost_vif_problems{code="dead-vlan"} 1.0' in text
    assert 'hybridhost_docker_instances{status="running"} 1.0' in text
