"""The openstacksdk adapter against a fake of the SDK's placement proxy: what it reads,
and every SDK or keystoneauth failure turned into one PlacementUnavailable."""

from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions
import pytest

from hybridhost import exception
from hybridhost import plan as box_plan
from hybridhost.ledger import model
from hybridhost.ledger import placement
from tests.unit import confutils
from tests.unit.ledger import fakes

REFUSED = ks_exceptions.ConnectFailure(
    "Unable to establish connection to http://127.0.0.1:5000/v3/auth/tokens: "
    "HTTPConnectionPool(host='127.0.0.1', port=5000): Max retries exceeded")


@pytest.fixture
def plan(tmp_path):
    return box_plan.build(confutils.load(tmp_path))


class TestRead:
    def test_reads_inventories_and_usages_of_the_named_providers_only(self, plan):
        providers = fakes.as_rendered(plan, {"docker": {"VCPU": 2, "MEMORY_MB": 128}})
        other = model.Provider(name="elsewhere", uuid="uuid-x", inventories={}, usages={})
        conn = fakes.FakeConnection(dict(providers, elsewhere=other))
        assert placement.read(conn, ["box-docker", "box"]) == providers

    def test_a_name_placement_does_not_have_is_left_out(self, plan):
        conn = fakes.FakeConnection(fakes.as_rendered(plan))
        assert list(placement.read(conn, ["box-docker", "nothere"])) == ["box-docker"]

    @pytest.mark.parametrize("error, words", [
        (REFUSED, "Unable to establish connection to http://127.0.0.1:5000/v3/auth/tokens"),
        (ks_exceptions.Unauthorized("The request you have made requires authentication."),
         "requires authentication"),
        (sdk_exceptions.ForbiddenException("Policy does not allow placement:resource_"
                                           "providers:list"), "Policy does not allow"),
    ])
    def test_sdk_and_keystoneauth_errors_become_placement_unavailable(self, error, words):
        with pytest.raises(exception.PlacementUnavailable) as caught:
            placement.read(fakes.FakeConnection(fails=error), ["box"])
        assert words in str(caught.value)
        assert "HTTPConnectionPool" not in str(caught.value)
        assert caught.value.__cause__ is error


class TestObserve:
    def test_the_ledger_from_placement_and_the_connection_closed(self, plan):
        conn = fakes.FakeConnection(fakes.as_rendered(plan))
        ledger = placement.observe(plan, lambda: conn)
        assert ledger.read and ledger.problems == [] and conn.closed

    def test_unreachable_placement_gives_the_plan_and_why(self, plan):
        conn = fakes.FakeConnection(fails=REFUSED)
        ledger = placement.observe(plan, lambda: conn)
        assert ledger.unknown == ("placement cannot be read: Unable to establish connection "
                                  "to http://127.0.0.1:5000/v3/auth/tokens")
        assert conn.closed and ledger.lines[0].planned == 512

    def test_a_connection_that_cannot_be_made_gives_the_plan_and_why(self, plan):
        def refuse():
            raise sdk_exceptions.ConfigException("no auth_url")

        assert placement.observe(plan, refuse).unknown == "placement cannot be read: no auth_url"

    def test_without_a_password_nothing_is_tried(self, tmp_path, plan):
        conf = confutils.load(tmp_path)
        ledger = placement.observe(plan, lambda: placement.service_connection(conf))
        assert ledger.unknown == ("placement cannot be read: [openstack] password is not "
                                  "set (no credentials to read it with)")
