"""The resource tracker's allocation read, made only when something reads it."""

from hybridhost.virt.docker import allocations

ALLOCS = {"c1": {"allocations": {"rp": {"resources": {"VCPU": 1}}}}}


def _client_class():
    class FakeReportClient:
        """The one method of nova's SchedulerReportClient this module wraps."""

        def __init__(self):
            self.reads = []

        def get_allocations_for_provider_tree(self, context, nodename):
            self.reads.append((context, nodename))
            return dict(ALLOCS)

    return FakeReportClient


def test_placement_is_not_asked_until_the_allocations_are_read():
    client_class = _client_class()
    allocations.read_on_first_use(client_class)
    client = client_class()
    found = client.get_allocations_for_provider_tree("ctx", "vm-docker")
    assert client.reads == []
    assert not found.fetched
    assert found["c1"] == ALLOCS["c1"]
    assert dict(found) == ALLOCS and len(found) == 1 and list(found) == ["c1"]
    assert client.reads == [("ctx", "vm-docker")]


def test_each_call_reads_afresh_once():
    client_class = _client_class()
    allocations.read_on_first_use(client_class)
    client = client_class()
    first = client.get_allocations_for_provider_tree("ctx", "n")
    second = client.get_allocations_for_provider_tree("ctx", "n")
    assert dict(first) == dict(second) == ALLOCS
    assert len(client.reads) == 2


def test_wrapping_twice_wraps_once():
    client_class = _client_class()
    allocations.read_on_first_use(client_class)
    wrapped = client_class.get_allocations_for_provider_tree
    allocations.read_on_first_use(client_class)
    assert client_class.get_allocations_for_provider_tree is wrapped
    client = client_class()
    assert dict(client.get_allocations_for_provider_tree("ctx", "n")) == ALLOCS
    assert len(client.reads) == 1
