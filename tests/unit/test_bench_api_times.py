"""bench/api_times.py: a boot's time inside the APIs, from their uwsgi request lines."""

from bench import api_times
from hybridhost.render import control_plane

PORT = "3f2c9a4e-8d1b-4c57-9e2a-6b0d4f1a7c88"


def line(start_ms, took_ms, method, uri, status=200):
    """A request line as uwsgi writes it with the lab's --logformat."""
    return (control_plane.REQUEST_LOG_FORMAT.replace("%(tmsecs)", str(start_ms))
            .replace("%(msecs)", str(took_ms)).replace("%(status)", str(status))
            .replace("%(method)", method).replace("%(uri)", uri))


def test_request_kinds_hide_ids_and_queries():
    assert api_times.request_kind("PUT", "/v2.0/ports/%s?fields=id" % PORT) == \
        "PUT /v2.0/ports/{id}"
    assert api_times.request_kind("GET", "/v2.1/servers/%s/os-instance-actions" %
                                  PORT.replace("-", "")) == \
        "GET /v2.1/servers/{id}/os-instance-actions"
    assert api_times.request_kind("POST", "/v2.0/ports") == "POST /v2.0/ports"


def test_only_request_lines_are_read():
    lines = ["2026-11-26 19:00:00.000 1 INFO neutron.wsgi [-] something",
             line(1000500, 280, "PUT", "/v2.0/ports/" + PORT),
             "*** Starting uWSGI 2.0.28 ***"]
    assert api_times.parse(lines) == [(1000.5, 0.28, "PUT /v2.0/ports/{id}")]


def test_a_boot_counts_the_requests_that_started_in_its_window():
    requests = {"neutron-api": api_times.parse([
        line(999900, 100, "GET", "/v2.0/networks"),           # before the boot
        line(1000100, 200, "POST", "/v2.0/ports"),
        line(1000400, 300, "PUT", "/v2.0/ports/" + PORT),
        line(1000800, 20, "GET", "/v2.0/subnets?id=x"),
        line(1000900, 20, "GET", "/v2.0/subnets?id=y"),
        line(1003000, 100, "DELETE", "/v2.0/ports/" + PORT)]),  # after it
        "placement": api_times.parse([line(1000050, 40, "PUT", "/allocations/" + PORT)])}
    (totals, kinds), = api_times.per_boot(requests, [(1000.0, 1002.0)])
    assert totals == {"neutron-api": 0.54, "placement": 0.04}
    assert kinds[("neutron-api", "GET /v2.0/subnets")] == (0.04, 2)
    per_api, per_kind = api_times.medians([(totals, kinds)], top=2)
    assert [api for api, _s in per_api] == ["neutron-api", "placement"]
    assert per_kind == [("neutron-api PUT /v2.0/ports/{id}", 0.3, 1),
                        ("neutron-api POST /v2.0/ports", 0.2, 1)]


def test_medians_over_boots_count_a_missing_request_as_none():
    boots = [({"neutron-api": 0.5}, {("neutron-api", "POST /v2.0/ports"): (0.2, 1)}),
             ({"neutron-api": 0.7}, {}),
             ({"neutron-api": 0.6}, {("neutron-api", "POST /v2.0/ports"): (0.3, 1)})]
    per_api, per_kind = api_times.medians(boots)
    assert per_api == [("neutron-api", 0.6)]
    assert per_kind == [("neutron-api POST /v2.0/ports", 0.2, 1)]
    assert api_times.medians([]) == ([], [])
