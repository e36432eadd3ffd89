"""``hybridhost-watcher``: the box's health watcher, run by supervisord as an event
listener (``[eventlistener:hybridhost-watcher]`` in supervisord.d/hybridhost.conf).

File descriptor 1 belongs to the listener protocol: it is kept for the protocol and
then pointed at stderr, so that nothing else (a library's print, a warning) can ever
write to it. The log goes to ``[watcher] log_file``.
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
LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def _protocol_streams():
    """(stdin, stdout) as bytes for the protocol; fd 1 now writes to stderr."""
    protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return sys.stdin.buffer, protocol_out


def _logging(log_file, debug):
    handler = (logging.handlers.WatchedFileHandler(log_file) if log_file
               else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("oslo_messaging", "amqp", "kombu", "urllib3", "docker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _own_name():
    group = os.environ.get("SUPERVISOR_GROUP_NAME")
    name = os.environ.get("SUPERVISOR_PROCESS_NAME")
    return "%s:%s" % (group, name) if group and name else None


def build(topology):
    """A Watcher wired to the real supervisord, bus and daemons of ``topology``."""
    from hybridhost import supervisor_rpc
    from hybridhost.watcher import metrics
    from hybridhost.watcher import rpc
    from hybridhost.watcher import service

    settings = topology.settings
    client = supervisor_rpc.SupervisorClient(settings.supervisor_socket,
                                             settings.supervisor_timeout)
    wants_rpc = any(p.rpc_topic for p in topology.programs.values())
    pinger = (rpc.Pinger(settings.transport_url, settings.rpc_timeout,
                         settings.amqp_durable_queues)
              if wants_rpc and settings.transport_url else None)
    watch_metrics = None
    if settings.metrics_port:
        watch_metrics = metrics.Metrics()
        watch_metrics.serve(settings.metrics_host, settings.metrics_port)
    return service.Watcher(topology, client, pinger=pinger, metrics=watch_metrics,
                           own_name=_own_name(), checks=_checks(topology, watch_metrics))


def _checks(topology, watch_metrics=None):
    """The integration bridge's check, when conf/watcher.conf has a [vifs] section."""
    settings = topology.settings
    if not topology.vifs or not settings.vif_interval:
        return {}
    from hybridhost.bridge_ports import sources
    from hybridhost.watcher import vifs

    found = dict(topology.vifs)
    _privsep_helper(found.pop("bin_dir"), found.pop("helper_config"))
    box_settings = sources.Settings(**found)
    check = vifs.VifCheck(lambda: sources.LiveBox.connect(box_settings),
                          repair_them=settings.vif_repair,
                          observe=watch_metrics.bridge if watch_metrics else None)
    return {"vifs": (check, settings.vif_interval)}


def _privsep_helper(bin_dir, config_file):
    """Namespaces are read and VIFs plugged through the venv's privsep-helper, as
    'hybridhost vifs' and the Docker nova-compute do (no sudo), reading nova-docker.conf
    (the links it may touch carry its vif_prefix)."""
    from oslo_config import cfg

    import hybridhost.privileged

    helper = "env PYTHONWARNINGS=ignore::Warning:oslo_privsep.daemon %s" % os.path.join(
        bin_dir, "privsep-helper")
    if os.path.exists(config_file):
        helper += " --config-file %s" % config_file
    cfg.CONF.set_override("helper_command", helper,
                          group=hybridhost.privileged.net_admin.cfg_section)


def main(argv=None):
    from hybridhost.watcher import listener
    from hybridhost.watcher import topology as watch_topology

    parser = argparse.ArgumentParser(prog="hybridhost-watcher", description=__doc__)
    parser.add_argument("--config-file", default=DEFAULT_CONFIG,
                        help="The rendered conf/watcher.conf (default %(default)s).")
    parser.add_argument("--debug", action="store_true", help="Log debug messages.")
    args = parser.parse_args(argv)
    stdin, stdout = _protocol_streams()
    warnings.filterwarnings("ignore")
    try:
        topology = watch_topology.load(args.config_file)
    except exception.ConfigInvalid as err:
        print("hybridhost-watcher: error: %s" % err, file=sys.stderr)
        return err.exit_code
    _logging(topology.settings.log_file, args.debug)
    LOG.info("hybridhost-watcher starts: %d program(s) with needs, %d daemon(s) to probe",
             len(topology.programs), len(topology.services))
    watcher = build(topology)
    listener.serve(stdin, stdout, watcher.handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
