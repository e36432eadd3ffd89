"""hybridhost's neutron service plugin (hybridhost/neutron_server/nova_events.py) against
neutron's own nova notifier: only its outgoing queue is replaced, so what is tested is
neutron's callback registry and its notifier's rules with the plugin in between. The lab
runs it in neutron-server (tests/e2e/test_nova_events.py)."""

import configparser
import json
import os

from neutron.conf import common as neutron_common
from neutron.notifiers import nova as nova_notifier
from neutron_lib import fixture
from neutron_lib.callbacks import events
from neutron_lib.callbacks import registry
from neutron_lib.callbacks import resources
from neutron_lib.plugins import constants as plugin_constants
from neutron_lib.plugins import directory
from oslo_config import cfg
import pytest

from hybridhost.neutron_server import nova_events
from hybridhost.render import control_plane

INSTANCE = "6f1a3c8e-1d2b-4c5d-8e9f-0a1b2c3d4e5f"
PORT = "a3cbdf13-9adc-428c-97b1-6c102418d39b"
NOVA_ATTACH = {"device_id": INSTANCE, "device_owner": "compute:nova",
               "binding:host_id": "box-docker"}


class RecordingQueue:
    """The notifier's batch queue: what neutron would send nova."""

    def __init__(self):
        self.events = []

    def queue_event(self, event):
        if event:
            self.events.append(event)


class Neutron(nova_notifier.Notifier):
    """neutron's notifier (its callbacks and rules), without a nova to talk to."""

    def __init__(self):  # no keystone session, no nova client
        self.batch_notifier = RecordingQueue()


class CorePlugin:
    def __init__(self):
        self.nova_notifier = Neutron()


@pytest.fixture
def neutron():
    # Only the option the notifier reads: other tests register other ``host`` options.
    cfg.CONF.register_opt(next(opt for opt in neutron_common.core_opts
                               if opt.name == "notify_nova_on_port_data_changes"))
    registry_fixture = fixture.CallbackRegistryFixture()
    directory_fixture = fixture.PluginDirectoryFixture()
    registry_fixture.setUp()
    directory_fixture.setUp()
    core = CorePlugin()
    directory.add_plugin(plugin_constants.CORE, core)
    yield core.nova_notifier
    directory_fixture.cleanUp()
    registry_fixture.cleanUp()


def _port(**fields):
    port = {"id": PORT, "network_id": "net", "tenant_id": "p", "status": "DOWN",
            "device_id": INSTANCE, "device_owner": "compute:nova",
            "binding:host_id": "box-docker", "name": ""}
    port.update(fields)
    return port


def _update(body, port=None):
    """What neutron's API (pecan NotifierHook) publishes after a port update."""
    original = {"id": PORT, "network_id": "net", "tenant_id": "p", "status": "DOWN"}
    registry.publish(resources.PORT, events.BEFORE_RESPONSE, object(),
                     payload=events.APIEventPayload(
                         None, "port.update.end", "update_port",
                         request_body=json.dumps({"port": body}).encode(),
                         states=(original, {"port": port or _port()})))


def _sent(notifier):
    return [(e["name"], e["tag"]) for e in notifier.batch_notifier.events]


def test_without_the_plugin_neutron_tells_nova_of_its_own_attach(neutron):
    _update(NOVA_ATTACH)
    assert _sent(neutron) == [("network-changed", PORT)]


def test_with_it_nova_is_not_told_of_its_own_attach(neutron):
    nova_events.NovaAttachEventFilter()
    _update(NOVA_ATTACH)
    _update(dict(NOVA_ATTACH, **{"binding:profile": {}, "dns_name": "vm1"}))
    assert _sent(neutron) == []


@pytest.mark.parametrize("body", [
    {"name": "web"},
    {"security_groups": ["sg"]},
    {"fixed_ips": [{"subnet_id": "s"}]},
    {"binding:host_id": "box-kvm"},  # a migration's binding: nova's own, not an attach
    dict(NOVA_ATTACH, security_groups=["sg"]),  # more than nova sends
    dict(NOVA_ATTACH, device_owner="network:router_interface"),
], ids=["name", "security-groups", "fixed-ips", "host-only", "attach-plus", "not-compute"])
def test_every_other_port_update_still_reaches_nova(neutron, body):
    nova_events.NovaAttachEventFilter()
    _update(body)
    assert _sent(neutron) == [("network-changed", PORT)]


def test_an_attach_to_another_device_than_the_port_has_is_not_nova_s(neutron):
    nova_events.NovaAttachEventFilter()
    _update(dict(NOVA_ATTACH, device_id="another"))
    assert _sent(neutron) == [("network-changed", PORT)]


def test_a_deleted_port_still_reaches_nova(neutron):
    nova_events.NovaAttachEventFilter()
    registry.publish(resources.PORT, events.BEFORE_RESPONSE, object(),
                     payload=events.APIEventPayload(
                         None, "port.delete.end", "delete_port",
                         states=({}, {"port": _port()})))
    assert _sent(neutron) == [("network-vif-deleted", PORT)]


def test_without_a_nova_notifier_it_changes_nothing(neutron):
    directory.get_plugin().nova_notifier = None
    nova_events.NovaAttachEventFilter()
    _update(NOVA_ATTACH)
    assert _sent(neutron) == [("network-changed", PORT)]


@pytest.mark.parametrize("request_body", [b"not json", b"[1]", b'{"port": 3}', None, {}])
def test_a_body_that_is_not_a_port_update_is_not_an_attach(request_body):
    payload = events.APIEventPayload(None, "port.update.end", "update_port",
                                     request_body=request_body,
                                     states=({}, {"port": _port()}))
    assert not nova_events.is_nova_attach(payload)


def test_a_dict_body_is_read_as_well():
    payload = events.APIEventPayload(None, "port.update.end", "update_port",
                                     request_body={"port": NOVA_ATTACH},
                                     states=({}, {"port": _port()}))
    assert nova_events.is_nova_attach(payload)


def test_the_plugin_is_a_service_plugin_neutron_can_load():
    plugin = nova_events.NovaAttachEventFilter
    assert plugin.get_plugin_type() == nova_events.PLUGIN_TYPE
    assert plugin.supported_extension_aliases == []


def test_the_lab_names_the_plugin_by_its_entry_point():
    """render names the plugin without importing it (it stays free of neutron)."""
    setup = configparser.ConfigParser()
    setup.read(os.path.join(os.path.dirname(__file__), "..", "..", "setup.cfg"))
    plugins = dict(line.split(" = ") for line in setup.get(
        "options.entry_points", "neutron.service_plugins").strip().splitlines())
    assert control_plane.NOVA_EVENTS_PLUGIN == nova_events.ALIAS
    assert plugins[nova_events.ALIAS] == "%s:%s" % (
        nova_events.__name__, nova_events.NovaAttachEventFilter.__name__)
