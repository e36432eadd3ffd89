"""The Prometheus metrics the watcher exports (prometheus_client's own text format)."""

import prometheus_client

from hybridhost.watcher import metrics
from hybridhost.watcher import probes
from hybridhost.watcher import state


def test_rounds_become_metrics():
    m = metrics.Metrics()
    m.part(state.Part("g:p", "program", "RUNNING", "degraded", 1.0))
    m.process("g:p", probes.ProcessFacts(1, True, "sleeping", 4096, 2.5))
    m.probe("service:docker", probes.Answer(None, 0.012))
    m.repair("g:p", "restart")
    m.crash("g:p")
    text = prometheus_client.generate_latest(m.registry).decode()
    for line in ('hybridhost_program_up{program="g:p"} 1.0',
                 'hybridhost_part_health{part="g:p"} 1.0',
                 'hybridhost_program_rss_bytes{program="g:p"} 4096.0',
                 'hybridhost_probe_latency_seconds{part="service:docker"} 0.012',
                 'hybridhost_probe_ok{part="service:docker"} 1.0',
                 'hybridhost_watcher_repairs_total{action="restart",program="g:p"} 1.0',
                 'hybridhost_program_crashes_total{program="g:p"} 1.0'):
        assert line in text, line
