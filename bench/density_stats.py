"""The figures of bench/density.py, from what it recorded (pure: no lab, no clock).

Percentiles by launch bucket, the growth ratio and throughput; what fits in placement,
the quotas and the subnet; episodes of ports on the dead VLAN; the addresses a VM's
console says it reached; a container's memory from Docker's stats; two peers each.
"""

import dataclasses
import datetime
import random
import re
import statistics

DEAD_VLAN = 4095
#: The launch buckets the issue's targets speak of: boots 1-10, 11-50 and 51-100.
BUCKET_ENDS = (10, 50, 100)
TARGET_P95_GROWTH = 1.5
UNLIMITED = -1
CONSOLE_PING = re.compile(r"HYBRIDHOST-PING (\d+\.\d+\.\d+\.\d+) ok")
ACTIVE_SAVED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) .*"
                          r"\[instance: ([0-9a-f-]{36})\] Took [0-9.]+ seconds to build")


def percentile(samples, fraction):
    """Nearest rank (as bench/boot.py): the sample at ``fraction`` of the sorted list."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(name, samples):
    """``{name, n, p50_s, p95_s, max_s}`` (None figures when there is no sample)."""
    if not samples:
        return {"name": name, "n": 0, "p50_s": None, "p95_s": None, "max_s": None}
    return {"name": name, "n": len(samples),
            "p50_s": round(statistics.median(samples), 3),
            "p95_s": round(percentile(samples, 0.95), 3), "max_s": round(max(samples), 3)}


def bucket_ranges(count):
    """``[(first, last)]`` (1-based launch positions): 1-10, 11-50, 51-100 cut at
    ``count``, and 101-count when there are more."""
    ranges, first = [], 1
    for end in BUCKET_ENDS + (count,):
        last = min(end, count)
        if last >= first:
            ranges.append((first, last))
            first = last + 1
    return ranges


def buckets(durations):
    """One summary per launch bucket, then ``overall``; ``durations`` in launch order,
    None for a boot without a figure (counted in ``missing``, not in the figures)."""
    rows = []
    for first, last in bucket_ranges(len(durations)):
        chosen = durations[first - 1:last]
        row = summary("%d-%d" % (first, last), [d for d in chosen if d is not None])
        rows.append(dict(row, missing=sum(d is None for d in chosen)))
    row = summary("overall", [d for d in durations if d is not None])
    return rows + [dict(row, missing=sum(d is None for d in durations))]


def p95_growth(rows):
    """``(ratio, later, first)``: p95 of the 51-100 bucket (or the last one there is)
    over p95 of the first; None when there are fewer than two buckets with figures."""
    timed = [row for row in rows if row["name"] != "overall" and row["p95_s"]]
    if len(timed) < 2:
        return None, None, None
    first = timed[0]
    later = next((row for row in timed if row["name"].startswith("51-")), timed[-1])
    return round(later["p95_s"] / first["p95_s"], 2), later["name"], first["name"]


def per_minute(count, seconds):
    return round(60.0 * count / seconds, 1) if seconds > 0 else None


# --- capacity ---------------------------------------------------------------------


def placement_room(inventories, usages, need):
    """How many more instances needing ``need`` ({resource class: amount}) one provider
    holds: ``inventories`` {class: {total, reserved, allocation_ratio, max_unit}},
    ``usages`` {class: used}."""
    fits = []
    for resource, amount in need.items():
        if amount <= 0:
            continue
        inventory = inventories.get(resource)
        if inventory is None or amount > inventory["max_unit"]:
            return 0
        capacity = int((inventory["total"] - inventory["reserved"])
                       * inventory["allocation_ratio"])
        fits.append(max(0, capacity - usages.get(resource, 0)) // amount)
    return min(fits) if fits else 0


def quota_shortfalls(quotas, wanted):
    """``[(name, wanted, free)]`` for each quota too small: ``quotas`` {name: (limit,
    used)}; a limit of -1 is unlimited."""
    short = []
    for name, amount in wanted.items():
        limit, used = quotas[name]
        if limit != UNLIMITED and limit - used < amount:
            short.append((name, amount, max(0, limit - used)))
    return short


# --- the integration bridge -------------------------------------------------------


@dataclasses.dataclass
class Episode:
    """A port seen on the dead VLAN in consecutive samples."""

    port: str
    instance: str
    first_s: float
    last_s: float
    samples: int = 1
    ended: str = "still on VLAN 4095 at the end"

    def as_dict(self):
        return {"port": self.port, "instance": self.instance, "first_seen_s": self.first_s,
                "last_seen_s": self.last_s, "seen_for_s": round(self.last_s - self.first_s, 1),
                "samples": self.samples, "ended": self.ended}


class DeadVlanWatch:
    """Turns samples of the bridge (``{port: (tag, instance)}`` at a time) into
    :class:`Episode` s: when each port was on VLAN 4095, for how long, how it ended."""

    def __init__(self):
        self.episodes = []
        self.samples = 0
        self.ports_seen = set()
        self._open = {}

    def observe(self, when, ports):
        self.samples += 1
        self.ports_seen.update(ports)
        for name in list(self._open):
            if name not in ports:
                self._open.pop(name).ended = "port deleted"
            elif ports[name][0] != DEAD_VLAN:
                self._open.pop(name).ended = "retagged %s" % ports[name][0]
        for name, (tag, instance) in ports.items():
            if tag != DEAD_VLAN:
                continue
            episode = self._open.get(name)
            if episode is None:
                self._open[name] = episode = Episode(name, instance, when, when, 0)
                self.episodes.append(episode)
            episode.last_s = when
            episode.samples += 1


# --- reachability and memory ------------------------------------------------------


def console_reached(text):
    """The addresses a demo guest's console says answered (``HYBRIDHOST-PING <ip> ok``)."""
    return set(CONSOLE_PING.findall(text or ""))


def two_peers(count, seed):
    """For each of ``count`` containers, two others (chosen at random, repeatable with
    ``seed``); fewer when there are fewer others."""
    rng = random.Random(seed)
    return [rng.sample([j for j in range(count) if j != i], min(2, count - 1))
            for i in range(count)]


def container_memory(stats):
    """Bytes a container uses from Docker's stats, as ``docker stats`` counts them:
    usage less the inactive file cache (cgroup v2 ``inactive_file``, v1
    ``total_inactive_file``); None without a usage figure."""
    memory = stats.get("memory_stats") or {}
    if "usage" not in memory:
        return None
    detail = memory.get("stats") or {}
    cache = detail.get("inactive_file", detail.get("total_inactive_file", 0))
    return memory["usage"] - cache


def cpu_deltas(before, after, boots):
    """CPU seconds per boot for each label: (after - before) / boots, rounded."""
    if boots <= 0:
        return {}
    return {label: round((after.get(label, 0.0) - before.get(label, 0.0)) / boots, 3)
            for label in sorted(set(before) | set(after))}


def cpu_above_idle(per_boot, idle_rates, phase_s, boots):
    """CPU seconds per boot beyond what each label burns idle (``idle_rates``: CPU
    seconds per second, measured just before) over the ``phase_s`` the boots took."""
    if boots <= 0:
        return {}
    return {label: round(value - idle_rates.get(label, 0.0) * phase_s / boots, 3)
            for label, value in per_boot.items()}


def active_saved(lines):
    """``{instance uuid: wall-clock time}`` of nova-compute's "Took N seconds to build"
    (the moment it saved ACTIVE), from its log's lines."""
    found = {}
    for line in lines:
        match = ACTIVE_SAVED.search(line)
        if match and match.group(2) not in found:
            found[match.group(2)] = datetime.datetime.strptime(
                match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
    return found
