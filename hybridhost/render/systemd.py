"""``hybridhost.service``: the systemd unit that brings the box up at boot, on a machine
whose init is systemd. Its text, whether it is wanted, and putting it in place."""

import logging
import os

from hybridhost import runner
from hybridhost.render import files as rendered_files
from hybridhost.render import ini

LOG = logging.getLogger(__name__)

UNIT_NAME = "hybridhost.service"
WANTED_BY = "multi-user.target"
#: Exists only while systemd runs the machine (sd_booted()).
SYSTEMD_RUNNING = "/run/systemd/system"
#: 'hybridhost down' stops the containers one by one (up to 10 s each), then every
#: program (each up to [supervisor] stop_timeout).
STOP_TIMEOUT = "15min"
#: The init system's units for host services supervisord does not run.
HOST_SERVICE_UNITS = {
    "ovsdb-server": "openvswitch-switch.service",
    "ovs-vswitchd": "openvswitch-switch.service",
    "dockerd": "docker.service",
    "libvirtd": "libvirtd.service",
    "virtlogd": "virtlogd.service",
}


def systemd_runs():
    return os.path.isdir(SYSTEMD_RUNNING)


def wanted(conf, systemd_running):
    """True when [host] systemd_unit asks for the unit on this machine."""
    if conf.host.systemd_unit == "auto":
        return systemd_running
    return conf.host.systemd_unit == "yes"


def _quote(word):
    """One word of a systemd command line (systemd.syntax's double quotes)."""
    if word and not any(c in word for c in ' \t"\'\\$%;'):
        return word
    return '"%s"' % word.replace("\\", "\\\\").replace('"', '\\"').replace(
        "$", "$$").replace("%", "%%")


def command(conf, plan, *argv):
    """``hybridhost`` with the configuration this render read, then ``argv``."""
    words = [os.path.join(plan.bin_dir, "hybridhost")]
    for path in conf.config_file or []:
        words += ["--config-file", os.path.abspath(path)]
    if conf.config_dir:
        words += ["--config-dir", os.path.abspath(conf.config_dir)]
    return " ".join(_quote(word) for word in words + list(argv))


def _outside_units(conf):
    """The init system's host services the box needs but does not run."""
    managed = set(conf.host.managed_services) if conf.host.manage_services else set()
    return sorted({unit for service, unit in HOST_SERVICE_UNITS.items()
                   if service not in managed})


def render_unit(conf, plan):
    after = ["network-online.target"] + _outside_units(conf)
    lines = [ini.HEADER.rstrip("\n"),
             "[Unit]",
             "Description=hybridhost box %s: the Docker and libvirt nova-computes and the "
             "OVS agent under supervisord" % plan.box,
             "Wants=network-online.target",
             "After=%s" % " ".join(after),
             "",
             "[Service]",
             # supervisord replaces 'hybridhost up --foreground' and stays in front.
             "Type=simple",
             "ExecStart=%s" % command(conf, plan, "up", "--foreground"),
             # Stops nova-compute-docker before the containers, so that the instances
             # that were running are started again at the next boot.
             "ExecStop=%s" % command(conf, plan, "down"),
             "TimeoutStopSec=%s" % STOP_TIMEOUT,
             "Restart=on-failure",
             "RestartSec=5",
             "LimitNOFILE=1048576",
             "TasksMax=infinity",
             # dockerd and libvirtd make cgroups for containers and VMs.
             "Delegate=yes",
             "",
             "[Install]",
             "WantedBy=%s" % WANTED_BY]
    return "\n".join(lines) + "\n"


def put_in_place(conf, plan, unit_dir, systemd_running, enable=True, reload=None):
    """Write the unit into ``unit_dir`` when it differs. The first time (``enable``),
    enable it with the link 'systemctl enable' makes, so that a later 'systemctl
    disable' stays; when systemd runs and the unit changed, ``reload`` (systemctl
    daemon-reload). Returns the unit's path when it was written, else None."""
    path = os.path.join(unit_dir, UNIT_NAME)
    first = not os.path.lexists(path)
    if not rendered_files.write({UNIT_NAME: render_unit(conf, plan)}, unit_dir):
        return None
    if first and enable:
        _enable(unit_dir, path)
    if systemd_running:
        (reload or _daemon_reload)()
    LOG.info("Wrote %s", path)
    return path


def _enable(unit_dir, path):
    wants = os.path.join(unit_dir, "%s.wants" % WANTED_BY)
    os.makedirs(wants, exist_ok=True)
    link = os.path.join(wants, UNIT_NAME)
    if not os.path.lexists(link):
        os.symlink(path, link)


def _daemon_reload():
    runner.run(["systemctl", "daemon-reload"])


def install(conf, plan, out_dir=None):
    """What ``render`` and ``up`` do: the unit in [paths] systemd_unit_dir (under
    ``out_dir``/systemd when rendering elsewhere), when [host] systemd_unit wants it."""
    running = systemd_runs()
    if not wanted(conf, running):
        return None
    if out_dir is not None and out_dir != plan.config_dir:
        return put_in_place(conf, plan, os.path.join(out_dir, "systemd"), False, enable=False)
    return put_in_place(conf, plan, conf.paths.systemd_unit_dir, running)
