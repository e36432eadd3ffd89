"""[watcher]: the health watcher, supervisord's event listener ``hybridhost-watcher``."""

from oslo_config import cfg

watcher_group = cfg.OptGroup(
    "watcher", help="The health watcher: a supervisord event listener that probes every "
                    "part of the box, restarts hung programs and writes the status "
                    "'hybridhost status' shows.")
watcher_opts = [
    cfg.BoolOpt("enabled", default=True,
                help="Run hybridhost-watcher under supervisord with the box."),
    cfg.IntOpt("check_interval", default=5, min=5, max=300,
               help="Seconds between two rounds of probes. supervisord's TICK_5 event "
                    "drives the rounds, so the least is 5."),
    cfg.IntOpt("probe_timeout", default=3, min=1, max=60,
               help="Deadline (seconds) for the Docker engine, libvirt, OVSDB and "
                    "ovs-vswitchd to answer a probe; a slower answer counts as none."),
    cfg.IntOpt("hang_timeout", default=5, min=0, max=600,
               help="Seconds a program's process may stay stopped (state T, e.g. after "
                    "SIGSTOP) before the watcher kills it (SIGKILL: a stopped process "
                    "would not finish a graceful stop) and starts it; 0 at the first "
                    "round that sees it stopped."),
    cfg.IntOpt("rpc_timeout", default=5, min=1, max=60,
               help="Deadline (seconds) of one RPC ping (oslo.messaging's "
                    "oslo_rpc_server_ping) to a nova-compute or the OVS agent."),
    cfg.IntOpt("rpc_hang_timeout", default=90, min=10, max=3600,
               help="Seconds a running nova-compute or agent may go without answering "
                    "its RPC ping before the watcher restarts it. Above nova's "
                    "service_down_time (60 s) so that a slow start is not taken for a "
                    "hang."),
    cfg.IntOpt("max_repairs", default=3, min=1, max=100,
               help="Repairs (restarts by the watcher, or crashes supervisord restarted) "
                    "of one program within reset_after seconds before the watcher stops "
                    "it and reports it failed instead of restarting it forever."),
    cfg.IntOpt("repair_backoff", default=10, min=0, max=3600,
               help="Seconds before the watcher repairs the same program again; doubled "
                    "after each repair."),
    cfg.IntOpt("reset_after", default=300, min=10, max=86400,
               help="Seconds a program must stay healthy before its repair count starts "
                    "again from 0."),
    cfg.IntOpt("vif_interval", default=300, min=0, max=3600,
               help="Seconds between two runs of the watcher's slow checks, in a child "
                    "process: the integration bridge's ports (what 'hybridhost vifs' "
                    "shows), each side's instances and its capacity ledger. A run costs "
                    "about 2.3 CPU-seconds (the child loads ovsdbapp, the Docker SDK, "
                    "pyroute2, oslo.privsep and openstacksdk): every 300 s that is 0.8 % "
                    "of one core, every 60 s 3.5 %. The Docker nova-compute repairs its "
                    "own VIFs meanwhile. 0 turns the slow checks off."),
    cfg.BoolOpt("vif_repair", default=True,
                help="Repair what 'hybridhost vifs --repair' would (re-plug a running "
                     "container's missing or broken VIF, remove the Docker side's orphan "
                     "ports) when two checks in a row find it; never another owner's port."),
    cfg.HostAddressOpt("metrics_host", default="127.0.0.1",
                       help="Address of the Prometheus metrics endpoint. Only loopback "
                            "addresses are accepted."),
    cfg.PortOpt("metrics_port",
                help="Serve Prometheus metrics (text format) on metrics_host at this port. "
                     "Unset (the default): no metrics endpoint."),
    cfg.StrOpt("log_file", sample_default="<[paths] log_root>/hybridhost-watcher.log",
               help="The watcher's log: every decision with its reason. Its stdout "
                    "carries only supervisord's event listener protocol."),
]
