"""Options of the Docker virt driver, read by nova-compute-docker from nova-docker.conf.

The renderer writes them from hybridhost.conf; nova itself does not know them, so they
live in their own group, ``[hybridhost_docker]``.
"""

from oslo_config import cfg
from oslo_privsep import priv_context

from hybridhost import privileged
from hybridhost.virt.docker.limits import ALLOWED_CAPS
from hybridhost.virt.docker.limits import DEFAULT_CAPS

PRIVSEP_SECTION = "hybridhost_docker_privileged"

GROUP = cfg.OptGroup("hybridhost_docker", help="hybridhost's Docker virt driver.")

OPTS = [
    cfg.StrOpt("docker_url", default="unix:///var/run/docker.sock",
               help="Docker API endpoint."),
    cfg.StrOpt("min_api_version", default="1.41",
               help="Refuse to start against an engine older than this API version."),
    cfg.StrOpt("nodename", required=True,
               help="Hypervisor nodename and placement provider name of this side. Must "
                    "differ from the libvirt side's (the machine's hostname)."),
    cfg.HostDomainOpt("network_binding_host", required=True,
                      help="Host the single neutron OVS agent runs as (the libvirt side's "
                           "host); every container port is bound to it."),
    cfg.IntOpt("vcpus", min=1, required=True,
               help="vCPU inventory: exactly this side's share of the machine."),
    cfg.IntOpt("memory_mb", min=1, required=True,
               help="MEMORY_MB inventory: this side's share of the machine."),
    cfg.IntOpt("disk_gb", min=1, required=True,
               help="DISK_GB inventory: this side's share of the machine."),
    cfg.StrOpt("integration_bridge", default="br-int",
               help="OVS bridge container VIFs are plugged into."),
    cfg.StrOpt("ovsdb_connection", default="unix:/var/run/openvswitch/db.sock",
               help="OVSDB the VIF plugger writes to."),
    privileged.VIF_PREFIX_OPT,
    cfg.IntOpt("pids_limit", default=1024, min=16,
               help="Maximum number of processes in one container."),
    cfg.IntOpt("stop_timeout", default=10, min=0, max=300,
               help="Seconds a container gets after SIGTERM on power off."),
    cfg.IntOpt("max_image_gb", default=10, min=1,
               help="Largest image (GiB; the Glance tarball, and its content unpacked) a "
                    "flavor without a root disk (root_gb = 0) may boot; a flavor with one "
                    "is limited to its root disk."),
    cfg.IntOpt("log_max_size_mb", default=10, min=1, max=1024,
               help="Size (MiB) at which Docker rotates a container's log (json-file "
                    "'max-size'): stdout and stderr cannot fill the disk."),
    cfg.IntOpt("log_max_files", default=3, min=1, max=100,
               help="Log files Docker keeps per container (json-file 'max-file'). "
                    "Interdependencies: a container's logs take at most log_max_size_mb "
                    "x log_max_files."),
    cfg.ListOpt("cap_add", default=list(DEFAULT_CAPS),
                item_type=cfg.types.String(choices=list(ALLOWED_CAPS)),
                help="Capabilities added back after dropping all of them. The default is "
                     "the documented minimal set; NET_RAW (raw sockets, e.g. busybox ping) "
                     "may be added. SYS_ADMIN, NET_ADMIN and the like are never allowed. "
                     "Possible values: " + ", ".join(ALLOWED_CAPS) + "."),
    cfg.FloatOpt("reconcile_interval", default=5.0, min=0.5, max=300,
                 help="Seconds between two checks of every running container's VIFs "
                      "(the veth in its namespace, the OVS row, its OpenFlow port); a "
                      "broken one is plugged again. Containers started outside nova are "
                      "re-plugged at once from Docker's events; this check is the net "
                      "under that."),
    cfg.FloatOpt("reconcile_backoff_max", default=60.0, min=1, max=3600,
                 help="A failed re-plug is retried after 1 s, then after twice the last "
                      "delay, up to this many seconds, for as long as the container runs."),
    cfg.FloatOpt("stopped_event_delay", default=15.0, min=0, max=300,
                 help="Seconds a container's stop is held back before nova hears of it; "
                      "a start within them (a restart) cancels it, so nova does not power "
                      "off an instance that is only restarting (nova's libvirt driver "
                      "waits 15 s too). nova's power-state sync still corrects any miss."),
]


def log_options(group):
    """Docker ``LogConfig`` options from the ``[hybridhost_docker]`` group ``group``."""
    return {"max-size": "%dm" % group.log_max_size_mb, "max-file": str(group.log_max_files)}


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    """Options of nova-docker.conf that nova's own namespace does not cover."""
    return [(GROUP, OPTS), (PRIVSEP_SECTION, priv_context.OPTS)]
