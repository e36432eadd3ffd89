"""neutron's openvswitch firewall drivers on real netdev bridges, set up as neutron's
functional tests set them up, for ``test_neutron_firewall``.

* neutron talks to the box's OVSDB (``[OVS] ovsdb_connection``) through its own IDL,
  and runs ``ovs-ofctl`` through its privsep context, here in-process (we are root).
* Each driver gets its own ``ConjIdMap``: neutron keeps one per process (a class-level
  singleton), and two agents never share one.
* The conntrack cleanups a driver schedules are run by the test, synchronously, with a
  recorder in place of the host's ``conntrack -D``: the lab's zones share that table.
"""

import contextlib
import re

import fixtures
from neutron.agent.common import ovs_lib
from neutron.agent.linux.openvswitch_firewall import firewall as ovs_firewall
from neutron.conf.agent import securitygroups_rpc as sg_conf
from neutron.conf.plugins.ml2.drivers import ovs_conf
from neutron.plugins.ml2.drivers.openvswitch.agent.openflow import br_cookie
import neutron.privileged
from neutron_lib.callbacks import events
from neutron_lib.callbacks import registry
from neutron_lib.callbacks import resources
from oslo_config import cfg
from oslo_config import fixture as config_fixture

from tests.functional.virt_docker import base

#: What ``ovs-ofctl dump-flows`` shows that depends on time, traffic or the cookie
#: neutron draws per update, not on the flow itself.
_VOLATILE = re.compile(r"\b(cookie|duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]*,?\s*")

#: Where ``ConjIdMap.__new__`` keeps the one instance of a process.
_SINGLETON = "_instance"
_NW_SRC = re.compile(r"\bnw_src=([0-9.]+)")


def configure_neutron(test):
    """The neutron options the drivers read, reset when ``test`` cleans up."""
    conf = test.useFixture(config_fixture.Config(cfg.CONF))
    conf.register_opts(sg_conf.security_group_opts, "SECURITYGROUP")
    conf.register_opts([o for o in ovs_conf.agent_opts if o.name == "explicitly_egress_direct"],
                       "AGENT")
    conf.config(group="OVS", ovsdb_connection=base.OVSDB)
    neutron.privileged.default.set_client_mode(False)
    test.addCleanup(neutron.privileged.default.set_client_mode, True)


class CookieBridge(br_cookie.OVSBridgeCookieMixin, ovs_lib.OVSBridge):
    """``ovs_lib.OVSBridge`` with the cookie requests of the agent's bridge classes (the
    stock driver draws a cookie to rewrite a port's flows)."""


class ConntrackRecorder:
    """Stands in for ``neutron.agent.linux.utils.execute`` in a driver's conntrack
    manager: keeps the ``conntrack -D`` commands instead of running them."""

    def __init__(self):
        self.commands = []

    def __call__(self, cmd, **kwargs):
        self.commands.append(list(cmd))
        return ""


def _no_worker(manager):
    """``IpConntrackManager`` starts a thread that never ends; its queue is drained by
    :func:`conntrack_addresses` instead (neutron's own functional tests stop it too)."""


@contextlib.contextmanager
def _own_conj_id_map():
    """The driver made inside gets a ``ConjIdMap`` of its own; the singleton is restored."""
    conj_map = ovs_firewall.ConjIdMap
    saved = vars(conj_map).get(_SINGLETON)
    if saved is not None:
        delattr(conj_map, _SINGLETON)
    try:
        yield
    finally:
        if saved is not None:
            setattr(conj_map, _SINGLETON, saved)
        elif _SINGLETON in vars(conj_map):
            delattr(conj_map, _SINGLETON)


def make_driver(test, driver_class, bridge):
    """``driver_class`` on the netdev bridge ``bridge``, undone on cleanup."""
    worker = "neutron.agent.linux.ip_conntrack.IpConntrackManager._process_queue_worker"
    with _own_conj_id_map(), fixtures.MonkeyPatch(worker, _no_worker):
        driver = driver_class(bridge)
    driver.ipconntrack.execute = ConntrackRecorder()
    callback = driver._init_firewall_callback  # noqa: SLF001 - what its __init__ subscribed
    test.addCleanup(registry.unsubscribe, callback, resources.AGENT, events.OVS_RESTARTED)
    return driver


def conntrack_addresses(driver):
    """Run the conntrack cleanups the driver queued; the port addresses they were for."""
    manager = driver.ipconntrack
    while not manager._queue.empty():  # noqa: SLF001 - the worker's queue, see _no_worker
        manager._process_queue()  # noqa: SLF001 - one item, as the worker would
    commands, manager.execute.commands = manager.execute.commands, []
    return {cmd[cmd.index("-w") - 1].split("/")[0] for cmd in commands}


def wait_for_bridge(bridge):
    """neutron's IDL sees a bridge another connection created."""
    if not base.wait_for(lambda: bridge.bridge_exists(bridge.br_name), timeout=10):
        raise AssertionError("neutron's OVSDB view never showed %s" % bridge.br_name)


def plug(bridge, name, device, mac, ofport, other_config):
    """An internal port as os-vif and the OVS agent leave it: iface-id and attached-mac
    on the Interface, the local VLAN in the Port's tag and other_config."""
    ids = {"iface-id": device, "iface-status": "active", "attached-mac": mac}
    got = bridge.add_port(name, ("type", "internal"), ("ofport_request", ofport),
                          ("external_ids", ids))
    bridge.set_db_attribute("Port", name, "other_config", other_config, check_error=True)
    bridge.set_db_attribute("Port", name, "tag", int(other_config["tag"]), check_error=True)
    if got != ofport:
        raise AssertionError("%s got OpenFlow port %s, not %s" % (name, got, ofport))


def flows(bridge):
    """The bridge's flow table, sorted, without counters, ages and cookies."""
    return sorted(_VOLATILE.sub("", line).strip() for line in bridge.dump_all_flows())


def conjunction_sources(table):
    """The IPv4 sources the remote group flows of ``table`` match on."""
    return {match.group(1) for line in table if "conjunction(" in line
            for match in [_NW_SRC.search(line)] if match}


def flow_difference(stock, ours):
    """A readable account of two flow tables' difference ('' when equal)."""
    only_stock = sorted(set(stock) - set(ours))
    only_ours = sorted(set(ours) - set(stock))
    lines = ["only with neutron's driver: %s" % f for f in only_stock]
    lines += ["only with hybridhost's: %s" % f for f in only_ours]
    if not lines and stock != ours:
        lines.append("same flows, different multiplicity")
    return "\n".join(lines)


class Calls:
    """Spies (wraps, never replaces) methods of one driver: which port each call was
    for, step by step."""

    def __init__(self):
        self.seen = []

    def wrap(self, driver, name, port_of):
        original = getattr(driver, name)

        def spy(*args, **kwargs):
            self.seen.append((name, port_of(*args)))
            return original(*args, **kwargs)

        setattr(driver, name, spy)

    def ports(self, name):
        """The ports ``name`` was called for since the last ``clear``."""
        return {port for called, port in self.seen if called == name}

    def clear(self):
        self.seen = []
