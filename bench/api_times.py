"""How much of a boot is spent inside the control plane's APIs: read from their request logs.

Each API of the lab (keystone, placement, glance, nova-api, neutron-api) runs under uwsgi
and logs one line per request: ``request <start, ms since the epoch> <duration>ms <status>
<method> <uri>`` (``hybridhost.render.control_plane.REQUEST_LOG_FORMAT``). For each boot,
the requests that started between its ``server create`` and nova-compute saving ACTIVE
are that boot's (the bench boots one server at a time and polls nova's database-only
instance actions, which nova-api answers without calling any other API).

What comes out is time the boot cannot lose whatever the Docker driver does: nova's
port create and binding in neutron, placement's claim, nova-api's own work.
"""

import os
import re
import statistics

from hybridhost.render import control_plane

APIS = ("nova-api", "neutron-api", "placement", "glance", "keystone")
_LINE = re.compile(r"^%s (\d+) (\d+)ms (\d+) (\S+) (\S+)" % control_plane.REQUEST_LOG_PREFIX)
_ID = re.compile(r"/[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?=/|$)")


def request_kind(method, uri):
    """``PUT /v2.0/ports/{id}`` for ``PUT /v2.0/ports/<uuid>?fields=x``."""
    return "%s %s" % (method, _ID.sub("/{id}", uri.split("?", 1)[0]))


def parse(lines):
    """``[(start_s, duration_s, kind)]`` of the request lines among ``lines``."""
    found = []
    for line in lines:
        match = _LINE.match(line)
        if match:
            start_ms, took_ms, _status, method, uri = match.groups()
            found.append((int(start_ms) / 1000.0, int(took_ms) / 1000.0,
                          request_kind(method, uri)))
    return found


def read(log_root, api):
    try:
        with open(os.path.join(log_root, "%s.stdout.log" % api), errors="replace") as handle:
            return parse(handle)
    except OSError:
        return []


def per_boot(requests_by_api, windows):
    """For each boot window ``(start, end)``: ``{api: seconds}`` and ``{(api, kind):
    (seconds, count)}`` of the requests that started inside it."""
    boots = []
    for start, end in windows:
        totals, kinds = {}, {}
        for api, requests in requests_by_api.items():
            for began, took, kind in requests:
                if start <= began <= end:
                    totals[api] = totals.get(api, 0.0) + took
                    seconds, count = kinds.get((api, kind), (0.0, 0))
                    kinds[(api, kind)] = (seconds + took, count + 1)
        boots.append((totals, kinds))
    return boots


def medians(boots, top=6):
    """``(per_api, per_kind)``: the median over the boots of each API's time as
    ``[(api, median_s)]``, and of the ``top`` costliest request kinds (by median) as
    ``[(kind, median_s, median_count)]``."""
    if not boots:
        return [], []
    apis = sorted({api for totals, _k in boots for api in totals})
    per_api = [(api, statistics.median(t.get(api, 0.0) for t, _k in boots)) for api in apis]
    kinds = sorted({key for _t, k in boots for key in k})
    per_kind = [("%s %s" % key,
                 statistics.median(k.get(key, (0.0, 0))[0] for _t, k in boots),
                 statistics.median(k.get(key, (0.0, 0))[1] for _t, k in boots))
                for key in kinds]
    per_api.sort(key=lambda row: -row[1])
    per_kind.sort(key=lambda row: -row[1])
    return per_api, per_kind[:top]


def inside_apis(log_root, windows, top=6):
    """What the bench prints: see :func:`medians`."""
    return medians(per_boot({api: read(log_root, api) for api in APIS}, windows), top)
