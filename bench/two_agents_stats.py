"""The counts of bench/two_agents.py, from what it recorded (pure: no lab, no clock).

Who pings whom, which containers a round of pings found cut off, which containers a
layout lost (cut off in a round, seen on VLAN 4095, or not booted), and the report:
one dict per layout, the two counts side by side, the verdict and its exit status.
"""

import statistics

DEAD_VLAN = 4095
#: Each container pings the next PEERS containers of the ring, so each one is also
#: pinged by PEERS others: 2 * PEERS chances to show it is connected.
PEERS = 2
OLD, NEW = "old", "hybridhost"
LAYOUT_TITLES = {OLD: "old layout (a second agent for the Docker side's host)",
                 NEW: "hybridhost layout (one agent)"}


def ring_pairs(count, peers=PEERS):
    """``[(source, target)]``: each of ``count`` containers and the next ``peers`` of
    the ring (fewer when there are fewer others)."""
    reach = min(peers, count - 1)
    return [(i, (i + step) % count) for i in range(count) for step in range(1, reach + 1)]


def cut_off(results, count):
    """The containers (indexes below ``count``) no ping of a round involved with
    success, as source or as target: ``results`` is ``{(source, target): reached}``.
    An echo that comes back went both ways, so one success clears both ends."""
    connected = set()
    for (source, target), reached in results.items():
        if reached:
            connected.update((source, target))
    return sorted(set(range(count)) - connected)


def lost(names, rounds, dead_instances, failed):
    """``{name: [reasons]}`` of the containers a layout lost.

    ``names``: the containers' names in ring order; ``rounds``: ``[(seconds, results)]``
    of the ping rounds (see :func:`cut_off`); ``dead_instances``: ``{name: [(first
    seen, seen for)]}`` of the times the container's port was seen on VLAN 4095
    (:func:`dead_by_instance`); ``failed``: ``{name: why}`` of the containers that
    never got a port to test."""
    found = {}
    for name, why in failed.items():
        found.setdefault(name, []).append("not booted: %s" % why)
    for name, episodes in dead_instances.items():
        if episodes:
            found.setdefault(name, []).append(_dead_summary(episodes))
    cut = {}
    for seconds, results in rounds:
        for index in cut_off(results, len(names)):
            cut.setdefault(names[index], []).append(seconds)
    for name, moments in cut.items():
        if name not in failed:
            found.setdefault(name, []).append(
                "cut off (no ping to or from it answered) in %d of %d ping rounds (%s)" % (
                    len(moments), len(rounds), _moments(moments)))
    return {name: found[name] for name in names if name in found}


def _moments(seconds):
    """``at 12.0s``, ``12.0s to 15.0s``: the first and last of ``seconds``."""
    ordered = sorted(seconds)
    if len(ordered) == 1:
        return "at %.1fs" % ordered[0]
    return "%.1fs to %.1fs" % (ordered[0], ordered[-1])


def _dead_summary(episodes):
    """``on VLAN 4095 3 times from 12.0s, 7.5s in all`` (``episodes``: (first seen,
    seen for) pairs; a time seen in one sample only counts 0 s)."""
    first = min(start for start, _ in episodes)
    total = sum(length for _, length in episodes)
    times = "once" if len(episodes) == 1 else "%d times" % len(episodes)
    return "on VLAN 4095 %s from %.1fs, %.1fs in all" % (times, first, total)


def dead_by_instance(episodes, instances):
    """``{name: [(first seen, seen for)]}`` (seconds) of each container's times on VLAN
    4095: ``episodes`` as density_stats.Episode.as_dict; ``instances`` ``{server id or
    port name: container name}``; other ports' episodes are left out."""
    found = {}
    for episode in episodes:
        name = instances.get(episode["instance"]) or instances.get(episode["port"])
        if name is not None:
            found.setdefault(name, []).append(
                (episode["first_seen_s"], episode["seen_for_s"]))
    return found


def layout_result(layout, names, rounds, dead, failed, problems, active_s=()):
    """One layout's figures: its lost containers, what went wrong with the run itself
    (``problems``: strings, e.g. a repair that did not finish), and the median of the
    boots' create -> ACTIVE seconds (``active_s``)."""
    lost_now = lost(names, rounds, dead, failed)
    return {"layout": layout, "title": LAYOUT_TITLES[layout], "containers": len(names),
            "ping_rounds": len(rounds), "lost": len(lost_now), "lost_containers": lost_now,
            "on_dead_vlan": sum(1 for seen in dead.values() if seen),
            "boot_p50_s": round(statistics.median(active_s), 1) if active_s else None,
            "problems": list(problems)}


def verdict(old, new):
    """``(exit status, [lines])``: 0 only when the hybridhost layout lost nothing and
    neither run had a problem; the old layout's count is a figure, but a 0 there is
    said: the scenario did not reproduce the instability this time."""
    notes = []
    if old["lost"] == 0:
        notes.append("the old layout lost no container this time: the scenario did not "
                     "reproduce the instability (rerun, or raise --containers/--period)")
    if new["lost"]:
        notes.append("FAILED: the hybridhost layout lost %d container(s)" % new["lost"])
    unclean = [(row["layout"], problem) for row in (old, new) for problem in row["problems"]]
    notes += ["FAILED: %s layout: %s" % item for item in unclean]
    status = 1 if new["lost"] or unclean else 0
    if status == 0:
        notes.append("ok: the hybridhost layout lost none of %d containers" % new["containers"])
    return status, notes


def result(old, new, extra=None):
    status, notes = verdict(old, new)
    found = {"ok": status == 0, "exit_status": status, "lost": {OLD: old["lost"],
                                                                NEW: new["lost"]},
             "layouts": [old, new], "verdict": notes}
    found.update(extra or {})
    return found


def _layout_lines(row):
    out = ["%s: %d of %d containers lost (%d seen on VLAN 4095; %d ping rounds; "
           "create -> ACTIVE p50 %s)" % (
               row["title"], row["lost"], row["containers"], row["on_dead_vlan"],
               row["ping_rounds"],
               "-" if row["boot_p50_s"] is None else "%.1fs" % row["boot_p50_s"])]
    for name, reasons in row["lost_containers"].items():
        out.append("  %s: %s" % (name, "; ".join(reasons)))
    out += ["  problem: %s" % problem for problem in row["problems"]]
    return out


def lines(found):
    """The report as text lines: each layout, then the counts side by side."""
    out = []
    for row in found["layouts"]:
        out += _layout_lines(row)
    width = max(len(row["title"]) for row in found["layouts"])
    out.append("")
    out.append("%-*s  lost  of" % (width, "containers lost"))
    for row in found["layouts"]:
        out.append("%-*s  %4d  %d" % (width, row["title"], row["lost"], row["containers"]))
    out.append("")
    if found.get("machine"):
        out.append("machine: %s" % found["machine"])
    return out + found["verdict"]
