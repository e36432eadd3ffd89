"""``hybridhost-watcher``: the box's health watcher, run by supervisord as an event
listener (``[eventlistener:hybridhost-watcher]`` in supervisord.d/hybridhost.conf).

File descriptor 1 belongs to the listener protocol: it is kept for the protocol and
then pointed at stderr, so that nothing else (a library's print, a warning) can ever
write to it. The log goes to ``[watcher] log_file`` in oslo.log's line format.
``--slow-checks`` is the watcher's own child (cmd/watcher_checks.py).
"""

import argparse
import logging
import logging.handlers
import os
import sys
import warnings

from hybridhost import exception

LOG = logging.getLogger(__name__)
DEFAULT_CONFIG = "/etc/hybridhost/conf/watcher.conf"
#: Libraries whose INFO lines say nothing about the box's health.
#: oslo.log's default line (nova's and neutron's logs look the same).
LOG_FORMAT = "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
QUIET = ("amqp", "urllib3", "docker", "keystoneauth", "openstack", "oslo.privsep.daemon",
         "ovsdbapp", "stevedore")


def _protocol_streams():
    """(stdin, stdout) as bytes for the protocol; fd 1 now writes to stderr."""
    protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return sys.stdin.buffer, protocol_out


def _logging(log_file, debug):
    """To ``log_file`` (reopened when rotated away), else stderr, in oslo.log's line
    format. The standard library's logging, not oslo.log: the listener lives as long as
    the box, and oslo.log with oslo.config costs it 6.5 MB of its 30 MB budget."""
    handler = (logging.handlers.WatchedFileHandler(log_file) if log_file
               else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter(LOG_FORMAT, DATE_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def _own_name():
    group = os.environ.get("SUPERVISOR_GROUP_NAME")
    name = os.environ.get("SUPERVISOR_PROCESS_NAME")
    return "%s:%s" % (group, name) if group and name else None


def build(topology, config_file):
    """A Watcher wired to the real supervisord, bus and daemons of ``topology``."""
    from hybridhost import supervisor_rpc
    from hybridhost.watcher import metrics
    from hybridhost.watcher import rpc
    from hybridhost.watcher import service

    settings = topology.settings
    client = supervisor_rpc.SupervisorClient(settings.supervisor_socket,
                                             settings.supervisor_timeout)
    wants_rpc = any(p.rpc_topic for p in topology.programs.values())
    pinger = (rpc.Pinger(settings.transport_url, settings.rpc_timeout)
              if wants_rpc and settings.transport_url else None)
    watch_metrics = metrics.NullMetrics()
    if settings.metrics_port:
        watch_metrics = metrics.Metrics()
        watch_metrics.serve(settings.metrics_host, settings.metrics_port)
    return service.Watcher(topology, client, pinger=pinger, metrics=watch_metrics,
                           own_name=_own_name(),
                           checks=_checks(topology, config_file, watch_metrics))


def _checks(topology, config_file, watch_metrics):
    """The slower checks (VIFs, instances, the ledger), every vif_interval seconds in a
    child process; none when vif_interval is 0."""
    from hybridhost.watcher import slow

    interval = topology.settings.vif_interval
    if not interval:
        return {}
    argv = [sys.executable, "-m", "hybridhost.cmd.watcher", "--slow-checks",
            "--config-file", config_file]
    return {"slow": (slow.SlowChecks(argv, watch_metrics), interval)}


def _load(config_file):
    from hybridhost.watcher import topology as watch_topology

    try:
        return watch_topology.load(config_file)
    except exception.ConfigInvalid as err:
        print("hybridhost-watcher: error: %s" % err, file=sys.stderr)
        return err


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hybridhost-watcher", description=__doc__)
    parser.add_argument("--config-file", default=DEFAULT_CONFIG,
                        help="The rendered conf/watcher.conf (default %(default)s).")
    parser.add_argument("--debug", action="store_true", help="Log debug messages.")
    parser.add_argument("--slow-checks", action="store_true",
                        help="Run the slower checks once, as the watcher's child: a JSON "
                             "request on stdin, the answer on stdout.")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.slow_checks:
        return _slow_checks(args)
    stdin, stdout = _protocol_streams()
    topology = _load(args.config_file)
    if isinstance(topology, exception.ConfigInvalid):
        return topology.exit_code
    _logging(topology.settings.log_file, args.debug)
    from hybridhost.watcher import listener

    LOG.info("hybridhost-watcher starts: %d program(s) with needs, %d daemon(s) to probe",
             len(topology.programs), len(topology.services))
    watcher = build(topology, args.config_file)
    listener.serve(stdin, stdout, watcher.handle)
    return 0


def _slow_checks(args):
    from hybridhost.cmd import watcher_checks

    topology = _load(args.config_file)
    if isinstance(topology, exception.ConfigInvalid):
        return topology.exit_code
    _logging(topology.settings.log_file, args.debug)
    return watcher_checks.main(topology)


if __name__ == "__main__":
    sys.exit(main())
