"""[paths]: where hybridhost keeps its files."""

import os
import sys

from oslo_config import cfg

paths_group = cfg.OptGroup("paths", help="Where hybridhost keeps its files.")
paths_opts = [
    cfg.StrOpt("config_dir", default="/etc/hybridhost",
               help="Where rendered files live: conf/ (nova, neutron and supervisord "
                    "configuration) and supervisord.d/. Rendered files refer to each "
                    "other under this directory."),
    cfg.StrOpt("state_root", default="/var/lib/hybridhost",
               help="Parent of each service's state (state_path, instances, locks)."),
    cfg.StrOpt("log_root", default="/var/log/hybridhost",
               help="Parent of every log file."),
    cfg.StrOpt("run_root", default="/run/hybridhost",
               help="Sockets and pid files. Keep the path short: unix socket paths are "
                    "limited to 107 bytes."),
    cfg.StrOpt("systemd_unit_dir", default="/etc/systemd/system",
               help="Where [host] systemd_unit writes hybridhost.service."),
    cfg.StrOpt("bin_dir", sample_default="<the bin directory of the running Python>",
               help="Directory holding nova-compute, neutron-openvswitch-agent, "
                    "privsep-helper and hybridhost (the virtualenv's bin)."),
]


def default_bin_dir():
    return os.path.dirname(os.path.abspath(sys.executable))
