"""[supervisor]: the supervisord that runs the box."""

from oslo_config import cfg

supervisor_group = cfg.OptGroup("supervisor", help="The supervisord that runs the box.")
supervisor_opts = [
    cfg.PortOpt("inet_port",
                help="Also serve supervisord's XML-RPC on 127.0.0.1 at this port. "
                     "Unset (the default): only the unix socket, mode 0700."),
    cfg.StrOpt("inet_username", default="hybridhost",
               help="User name for inet_port (required with it)."),
    cfg.StrOpt("inet_password", secret=True,
               help="Password for inet_port (required with it)."),
    cfg.IntOpt("stop_timeout", default=30, min=1, max=600,
               help="Seconds a program gets to exit after SIGTERM before supervisord "
                    "kills its whole process group (nova and neutron often need >10 s)."),
    cfg.IntOpt("dependency_timeout", default=120, min=1, max=3600,
               help="Seconds a program waits for what it needs (OVSDB, Docker, libvirt) "
                    "before it gives up and supervisord retries it."),
]
