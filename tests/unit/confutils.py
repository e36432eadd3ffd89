"""Build a hybridhost ConfigOpts from INI text, as a user's file would be read."""

import textwrap

from hybridhost import conf as hh_conf

BASE = """
[host]
name = box
kvm_nodename = box
total_vcpus = 8
total_memory_mb = 32768
total_disk_gb = 200
reserved_vcpus = 0
reserved_memory_mb = 2048
reserved_disk_gb = 10

[paths]
config_dir = {tmp}/etc
state_root = {tmp}/state
log_root = {tmp}/log
run_root = {tmp}/run
systemd_unit_dir = {tmp}/systemd
bin_dir = /venv/bin
"""


def write_conf(tmp_path, extra="", base=BASE):
    path = tmp_path / "hybridhost.conf"
    text = textwrap.dedent(base).format(tmp=tmp_path) + textwrap.dedent(extra)
    path.write_text(_merge(text))
    return str(path)


def _merge(text):
    """Later duplicate sections add to earlier ones (as a user would expect)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string(text)
    lines = []
    for section in parser.sections():
        lines.append("[%s]" % section)
        lines.extend("%s = %s" % item for item in parser.items(section, raw=True))
        lines.append("")
    return "\n".join(lines)


def load(tmp_path, extra=""):
    return hh_conf.load(["--config-file", write_conf(tmp_path, extra)],
                        default_config_files=[])
