"""bench/density.py's result: the figures as one dict (``--json``) and as text lines."""

from bench import boot
from bench import density_box as box
from bench import density_nova as nova
from bench import density_stats as stats
from hybridhost.lab import demo

MIB = 2 ** 20
#: The labels of the CPU figures the issue names first.
HEADLINE_CPU = ("control-plane", "nova-compute-docker")


def _read_lines(path):
    try:
        with open(path, errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:
        return []


def _timings(lab, ordered):
    """``(client, logged)``: each container's create -> ACTIVE as the client saw it and
    to nova-compute's log line saying it saved ACTIVE (None: no figure), in launch order."""
    saved = stats.active_saved(_read_lines(lab.plan.docker.log_file))
    client = [record.active_s for record in ordered]
    logged = [saved[record.server_id] - record.wall_started
              if record.error is None and record.server_id in saved else None
              for record in ordered]
    return client, logged


def _throughput(active):
    if not active:
        return {"containers": 0, "seconds": None, "per_minute": None}
    seconds = (max(r.started + r.active_s for r in active) - min(r.started for r in active))
    return {"containers": len(active), "seconds": round(seconds, 1),
            "per_minute": stats.per_minute(len(active), seconds)}


def _memory(run, launched):
    before, after = run.used_memory.get("before"), run.used_memory.get("after")
    median, answered = run.container_memory
    return {"host_used_delta_per_container_mib":
            round((after - before) / launched / MIB, 2) if after is not None else None,
            "container_median_mib": round(median / MIB, 2) if median is not None else None,
            "containers_with_stats": answered}


def _cpu(cpu, boots):
    """Per boot over the boot phase; the idle rates measured just before (CPU seconds
    per second), and per boot beyond them."""
    per_boot = stats.cpu_deltas(cpu.get("before", {}), cpu.get("after", {}), boots)
    if "idle_s" not in cpu:
        return {"per_boot": per_boot, "idle_per_s": None, "per_boot_above_idle": None,
                "phase_s": round(cpu.get("phase_s", 0.0), 1)}
    idle = {label: round(rate, 3) for label, rate in stats.cpu_deltas(
        cpu["idle_from"], cpu["before"], cpu["idle_s"]).items()}
    return {"per_boot": per_boot, "idle_per_s": idle, "phase_s": round(cpu["phase_s"], 1),
            "per_boot_above_idle": stats.cpu_above_idle(per_boot, idle, cpu["phase_s"],
                                                        boots)}


def _stages(lab, active):
    runs = [(r.server_id, {"create": r.wall_started, "seen active": r.wall_started + r.active_s})
            for r in active]
    stages, _saved, _windows = boot.breakdown(lab, runs)
    return [{"stage": stage, "what": what, "p50_s": p50, "n": n}
            for stage, what, p50, n in stages]


def _growth(rows):
    ratio, later, first = stats.p95_growth(rows)
    return {"ratio": ratio, "of": "%s / %s" % (later, first) if ratio else None,
            "target": stats.TARGET_P95_GROWTH,
            "met": ratio <= stats.TARGET_P95_GROWTH if ratio else None,
            "at_full_size": bool(later and later.startswith("51-"))}


def _failed(records):
    return [{"name": r.name, "server": r.server_id, "error": r.error}
            for r in records if r.error]


def figures(lab, args, run, sampler, room):
    """Everything measured, as one JSON-ready dict (``ok``: the exit status's rule)."""
    ordered = sorted(run.containers, key=lambda r: r.started)
    active = [r for r in ordered if r.error is None]
    client, logged = _timings(lab, ordered)
    rows = stats.buckets(client)
    result = {
        "asked": {"containers": args.containers, "vms": args.vms,
                  "concurrency": args.concurrency, "seed": args.seed, "poll_s": args.poll},
        "room_before": room,
        "vms": stats.summary("VM create -> ACTIVE",
                             [r.active_s for r in run.vms if r.error is None]),
        "failed": _failed(run.vms + run.containers),
        "create_to_active": rows,
        "create_to_active_saved_log": stats.buckets(logged),
        "p95_growth": _growth(rows),
        "throughput": _throughput(active),
        "cpu": _cpu(run.cpu, len(ordered)),
        "memory": _memory(run, len(ordered)),
        "reachability": run.reach,
        "dead_vlan": [episode.as_dict() for episode in sampler.watch.episodes],
        "bridge_samples": {"samples": sampler.watch.samples,
                           "ports_seen": len(sampler.watch.ports_seen),
                           "errors": sampler.errors[:5]},
        "stages": _stages(lab, active) if active else [],
        "cleanup_errors": run.cleanup_errors,
        "leftovers": run.leftovers,
        "docker_side_now": box.docker_side_counts(lab),
    }
    result["ok"] = _ok(result)
    return result


def _ok(result):
    reach = result["reachability"]
    return not (result["failed"] or reach.get("container_failures")
                or any((reach.get("vms_missing") or {}).values()) or result["dead_vlan"]
                or result["cleanup_errors"] or any(result["leftovers"].values())
                or not reach)


# --- text -------------------------------------------------------------------------


def _seconds(value):
    return "%6.2fs" % value if value is not None else "     -"


def _bucket_lines(title, rows):
    out = [title]
    for row in rows:
        out.append("  boots %-8s n=%-4d p50 %s  p95 %s  max %s%s" % (
            row["name"], row["n"], _seconds(row["p50_s"]), _seconds(row["p95_s"]),
            _seconds(row["max_s"]),
            "  (%d without a figure)" % row["missing"] if row["missing"] else ""))
    return out


def _cpu_lines(cpu):
    per_boot, idle, above = cpu["per_boot"], cpu["idle_per_s"], cpu["per_boot_above_idle"]
    order = [label for label in HEADLINE_CPU if label in per_boot]
    order += sorted(label for label in per_boot if label not in order + [box.WHOLE_BOX])
    order += [box.WHOLE_BOX] if box.WHOLE_BOX in per_boot else []
    out = ["CPU seconds per container boot (psutil, over the %.1fs boot phase)%s:" % (
        cpu["phase_s"], "; idle CPU-s/s just before; per boot beyond idle" if idle else "")]
    for label in order:
        line = "  %-28s %6.2f" % (label, per_boot[label])
        if idle:
            line += "   idle %5.2f/s   beyond idle %6.2f" % (idle.get(label, 0.0),
                                                            above[label])
        out.append(line)
    return out


def _reach_lines(reach, containers):
    out = ["reachability: %d/%d containers reached the %d VM(s) and two peers" % (
        reach.get("containers_checked", 0) - len(reach.get("container_failures", [])),
        containers, len(reach.get("vms_missing") or {}))]
    for failure in reach.get("container_failures", []):
        out.append("  container %s (%s) did not reach %s%s" % (
            failure["server"], failure["ip"], ", ".join(failure["unreached"]),
            " (%s)" % failure["error"] if failure.get("error") else ""))
    for server, missing in (reach.get("vms_missing") or {}).items():
        out.append("  VM %s: %s" % (server, "its console lists every container" if not missing
                                      else "its console misses %d: %s" % (
                                          len(missing), ", ".join(missing))))
    return out


def _bridge_lines(result):
    sampled = result["bridge_samples"]
    out = ["integration bridge: %d samples, %d ports seen, %d on VLAN 4095" % (
        sampled["samples"], sampled["ports_seen"], len(result["dead_vlan"]))]
    for episode in result["dead_vlan"]:
        out.append("  %s (instance %s) on VLAN 4095 from %.1fs for %.1fs (%d samples), %s" % (
            episode["port"], episode["instance"] or "-", episode["first_seen_s"],
            episode["seen_for_s"], episode["samples"], episode["ended"]))
    out += ["  sampling error: %s" % error for error in sampled["errors"]]
    return out


def _left_lines(result):
    left = {kind: things for kind, things in result["leftovers"].items() if things}
    out = ["left behind: %s" % ("nothing (%s)" % ", ".join(result["leftovers"])
                                if not left else "")]
    out += ["  %s: %s" % (kind, ", ".join(things)) for kind, things in left.items()]
    out += ["  cleanup error: %s" % error for error in result["cleanup_errors"]]
    out.append("  (the Docker side now holds, whoever made them: %s)" % ", ".join(
        "%s %d" % item for item in result["docker_side_now"].items()))
    return out


def _headline(result):
    asked, growth, flow = result["asked"], result["p95_growth"], result["throughput"]
    out = ["density: %d %s containers + %d %s VM(s) on %s, %d at a time (seed %s); "
           "%d failed" % (asked["containers"], nova.CONTAINER_FLAVOR, asked["vms"],
                          nova.VM_FLAVOR, demo.NETWORK, asked["concurrency"], asked["seed"],
                          len(result["failed"]))]
    out += ["  %s %s: %s" % (f["name"], f["server"] or "-", f["error"])
            for f in result["failed"]]
    if growth["ratio"]:
        out.append("p95 growth %s: %.2fx (target <= %.1fx for 51-100 / 1-10: %s)" % (
            growth["of"], growth["ratio"], growth["target"],
            ("met" if growth["met"] else "NOT met") if growth["at_full_size"]
            else "not at full size"))
    if flow["per_minute"] is not None:
        out.append("throughput: %d containers ACTIVE in %.1fs = %.1f per minute" % (
            flow["containers"], flow["seconds"], flow["per_minute"]))
    return out


def lines(result):
    """The text report."""
    memory, vms = result["memory"], result["vms"]
    out = _headline(result)
    out += _bucket_lines("create -> ACTIVE (client: instance action polled every %.1fs)"
                         % result["asked"]["poll_s"], result["create_to_active"])
    out += _bucket_lines("create -> ACTIVE saved (nova-compute's log)",
                         result["create_to_active_saved_log"])
    out.append("VMs create -> ACTIVE: n=%d p50 %s  max %s" % (
        vms["n"], _seconds(vms["p50_s"]), _seconds(vms["max_s"])))
    out += _cpu_lines(result["cpu"])
    out.append("memory per container: host used memory %s MiB, Docker's median %s MiB "
               "(%d containers)" % (memory["host_used_delta_per_container_mib"],
                                    memory["container_median_mib"],
                                    memory["containers_with_stats"]))
    out += _reach_lines(result["reachability"], result["asked"]["containers"])
    out += _bridge_lines(result)
    out.append("where a container boot's time went (median per stage, services' logs):")
    out += ["  -> %-20s %6.3fs  %s" % (s["stage"], s["p50_s"], s["what"])
            for s in result["stages"]]
    out += _left_lines(result)
    return out
