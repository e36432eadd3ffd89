"""The libvirt side's driver (hybridhost/virt/libvirt/driver.py) against nova's own
``Host._conn_event_thread`` loop: after ``cleanup_host`` the loop handles what was
queued, then ends. tests/e2e/test_clean_stops.py stops the real nova-compute-kvm."""
# nova's Host internals are what the driver acts on:
# ruff: noqa: SLF001

import queue
import threading

from nova.virt.libvirt import driver as nova_driver
from nova.virt.libvirt import host as nova_host
import pytest

from hybridhost.virt.libvirt import driver


@pytest.fixture
def libvirt_driver(monkeypatch):
    monkeypatch.setattr(nova_driver.LibvirtDriver, "cleanup_host", lambda self, host: None)
    made = driver.LibvirtDriver.__new__(driver.LibvirtDriver)  # no libvirt connection
    made._host = nova_host.Host.__new__(nova_host.Host)
    made._host._conn_event_handler_queue = queue.Queue()
    return made


def _run_loop(host, wait=5):
    outcome = {}

    def run():
        try:
            host._conn_event_thread()
        except BaseException as err:  # noqa: BLE001 - what ended the loop is the result
            outcome["ended_by"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(wait)
    return thread.is_alive(), outcome


def test_cleanup_host_ends_novas_connection_event_loop(libvirt_driver):
    handled = []
    libvirt_driver._host._conn_event_handler_queue.put(lambda: handled.append("event"))
    libvirt_driver.cleanup_host("box-kvm")
    alive, outcome = _run_loop(libvirt_driver._host)
    assert not alive
    assert handled == ["event"]  # what was queued before ran first
    assert isinstance(outcome["ended_by"], driver.EndOfConnectionEvents)
    assert libvirt_driver._host._conn_event_handler_queue.unfinished_tasks == 0


def test_without_it_novas_loop_keeps_waiting(libvirt_driver):
    alive, _outcome = _run_loop(libvirt_driver._host, wait=0.5)
    assert alive  # what nova-compute-kvm's shutdown waited for until SIGKILL
    libvirt_driver._host._conn_event_handler_queue.put(driver._end_connection_events)


def test_it_is_novas_driver_by_the_name_nova_loads():
    from nova.virt import hybridhost_libvirt

    assert hybridhost_libvirt.LibvirtDriver is driver.LibvirtDriver
    assert issubclass(driver.LibvirtDriver, nova_driver.LibvirtDriver)
