"""Prometheus metrics (prometheus_client) on a loopback port, when configured.

Without ``metrics_port`` the watcher keeps a ``NullMetrics`` and never imports
prometheus_client.
"""

import logging

LOG = logging.getLogger(__name__)

_HEALTH_VALUE = {"healthy": 0, "degraded": 1, "down": 2, "failed": 3}
LEDGER_FIGURES = ("capacity", "used", "free")


class NullMetrics:
    def part(self, part):
        pass

    def process(self, program, facts):
        pass

    def probe(self, part, answer):
        pass

    def repair(self, program, action):
        pass

    def crash(self, program):
        pass

    def bridge(self, found):
        pass

    def sides(self, instances, ledger):
        pass


class Metrics(NullMetrics):
    def __init__(self, registry=None):
        import prometheus_client as prom

        self.registry = registry or prom.CollectorRegistry()
        r = self.registry
        self.up = prom.Gauge("hybridhost_program_up", "1 when supervisord says RUNNING",
                             ["program"], registry=r)
        self.health = prom.Gauge("hybridhost_part_health", "0 healthy, 1 degraded, "
                                 "2 down, 3 failed (given up)", ["part"], registry=r)
        self.rss = prom.Gauge("hybridhost_program_rss_bytes", "RSS of the program's "
                              "process", ["program"], registry=r)
        self.cpu = prom.Gauge("hybridhost_program_cpu_percent", "CPU of the program's "
                              "process since the last round", ["program"], registry=r)
        self.latency = prom.Gauge("hybridhost_probe_latency_seconds", "Latency of the "
                                  "last probe that answered", ["part"], registry=r)
        self.ok = prom.Gauge("hybridhost_probe_ok", "1 when the last probe answered",
                             ["part"], registry=r)
        self.repairs = prom.Counter("hybridhost_watcher_repairs", "Repairs made by the "
                                    "watcher", ["program", "action"], registry=r)
        self.crashes = prom.Counter("hybridhost_program_crashes", "Unexpected exits "
                                    "seen", ["program"], registry=r)
        self.ports = prom.Gauge("hybridhost_bridge_ports", "Ports on the integration "
                                "bridge per owner", ["owner"], registry=r)
        self.vif_problems = prom.Gauge("hybridhost_vif_problems", "Problems on the "
                                       "integration bridge per kind", ["code"], registry=r)
        self.containers = prom.Gauge("hybridhost_docker_instances", "The Docker side's "
                                     "containers per status", ["status"], registry=r)
        self.instances = prom.Gauge("hybridhost_instances", "Instances per side (the "
                                    "Docker side's containers, libvirt's domains)",
                                    ["side"], registry=r)
        self.ledger = {figure: prom.Gauge(
            "hybridhost_ledger_%s" % figure, "The capacity ledger: %s per side and "
            "resource class, as placement holds it" % figure, ["side", "resource"],
            registry=r) for figure in LEDGER_FIGURES}

    def serve(self, host, port):
        import prometheus_client as prom

        prom.start_http_server(port, addr=host, registry=self.registry)
        LOG.info("metrics served on http://%s:%d/metrics", host, port)

    def part(self, part):
        self.health.labels(part.part).set(_HEALTH_VALUE.get(part.health, 2))
        if part.kind == "program":
            self.up.labels(part.part).set(1 if part.state == "RUNNING" else 0)

    def process(self, program, facts):
        if facts.rss is not None:
            self.rss.labels(program).set(facts.rss)
        if facts.cpu_percent is not None:
            self.cpu.labels(program).set(facts.cpu_percent)

    def probe(self, part, answer):
        self.ok.labels(part).set(1 if answer.ok else 0)
        if answer.latency is not None:
            self.latency.labels(part).set(answer.latency)

    def repair(self, program, action):
        self.repairs.labels(program, action).inc()

    def crash(self, program):
        self.crashes.labels(program).inc()

    def bridge(self, found):
        """``found``: ``vifs.figures()``."""
        for owner, count in found["ports"].items():
            self.ports.labels(owner).set(count)
        _replace(self.vif_problems, found["problems"])
        _replace(self.containers, found["containers"])

    def sides(self, instances, ledger):
        """``instances``: {side: count, or why it is unknown}; ``ledger``: the ledger's
        ``as_dict`` or None."""
        _replace(self.instances, {side: count for side, count in instances.items()
                                  if isinstance(count, int)})
        for gauge in self.ledger.values():
            gauge.clear()
        if not ledger or ledger.get("placement") != "read":
            return
        for line in ledger["resources"]:
            for figure in LEDGER_FIGURES:
                if line.get(figure) is not None:
                    self.ledger[figure].labels(line["side"], line["resource"]).set(
                        line[figure])


def _replace(gauge, counts):
    gauge.clear()
    for label, count in counts.items():
        gauge.labels(label).set(count)
