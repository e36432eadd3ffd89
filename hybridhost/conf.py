"""hybridhost.conf: the one configuration every other file is rendered from.

Groups: ``[host]`` (the box, its two compute services and the capacity split),
``[paths]``, ``[supervisor]``, ``[docker]``, ``[libvirt]``, ``[ovs]``,
``[openstack]`` (the control plane both computes and the agent talk to) and ``[lab]``
(the control plane ``hybridhost lab up`` runs on the box instead).
``list_opts()`` is the ``oslo.config.opts`` entry point.
"""

import ipaddress
import os
import socket
import sys

from oslo_config import cfg
from oslo_config import types

from hybridhost import exception
from hybridhost import linknames

DEFAULT_CONFIG_FILE = "/etc/hybridhost/hybridhost.conf"
HOST_SERVICES = ("ovsdb-server", "ovs-vswitchd", "dockerd", "libvirtd", "virtlogd")

_HOSTNAME = types.HostDomain()

host_group = cfg.OptGroup("host", help="The box and the two nova-compute services on it.")
host_opts = [
    cfg.HostDomainOpt(
        "name", sample_default="<the machine's hostname>",
        help="Name of the box. The compute service host names are derived from it."),
    cfg.HostDomainOpt(
        "docker_compute_host", sample_default="<name>-docker",
        help="nova 'host' of the Docker (container) nova-compute service."),
    cfg.HostDomainOpt(
        "kvm_compute_host", sample_default="<name>-kvm",
        help="nova 'host' of the libvirt nova-compute service. The single neutron OVS "
             "agent uses this host too, and the Docker side binds its ports to it."),
    cfg.HostDomainOpt(
        "docker_nodename", sample_default="<docker_compute_host>",
        help="Hypervisor nodename (and placement provider name) of the Docker side. "
             "Must differ from kvm_nodename."),
    cfg.HostDomainOpt(
        "kvm_nodename", sample_default="<the machine's hostname>",
        help="Hypervisor nodename the libvirt side reports. libvirt always reports "
             "the machine's hostname, whatever nova's 'host' says; set this only "
             "when libvirt's hostname differs from the one Python sees."),
    cfg.BoolOpt(
        "manage_services", default=True,
        help="Run the host services (ovsdb-server, ovs-vswitchd, dockerd, libvirtd, "
             "virtlogd) under supervisord. Turn off on a box where an init system "
             "already runs them."),
    cfg.ListOpt(
        "managed_services", default=list(HOST_SERVICES),
        item_type=types.String(choices=HOST_SERVICES),
        help="With manage_services: which host services supervisord runs."),
    cfg.IntOpt("total_vcpus", default=0, min=0,
               help="vCPUs of the machine; 0 means detect. A total given here is also "
                    "taken as libvirt's figure (see README.rst, 'Capacity')."),
    cfg.IntOpt("total_memory_mb", default=0, min=0,
               help="RAM of the machine in MiB; 0 means detect: the kernel's total "
                    "(/proc/meminfo), while libvirt's figure is the sum of its NUMA "
                    "cells. Set it no higher than libvirt reports ('virsh nodeinfo')."),
    cfg.IntOpt("total_disk_gb", default=0, min=0,
               help="Disk for instances in GiB (the filesystem of [paths] state_root); "
                    "0 means detect."),
    cfg.IntOpt("reserved_vcpus", default=0, min=0,
               help="vCPUs kept for the host itself; neither side gets them."),
    cfg.IntOpt("reserved_memory_mb", default=2048, min=0,
               help="RAM (MiB) kept for the host, its daemons and the agent."),
    cfg.IntOpt("reserved_disk_gb", default=10, min=0,
               help="Disk (GiB) kept for the host."),
    cfg.IntOpt("docker_vcpus", min=0, sample_default="<half of what is left>",
               help="vCPUs of the Docker side. Unset: half of the machine after the reserve."),
    cfg.IntOpt("docker_memory_mb", min=0, sample_default="<half of what is left>",
               help="RAM (MiB) of the Docker side. Unset: half after the reserve."),
    cfg.IntOpt("docker_disk_gb", min=0, sample_default="<half of what is left>",
               help="Disk (GiB) of the Docker side. Unset: half after the reserve."),
    cfg.IntOpt("kvm_vcpus", min=0, sample_default="<the rest after the reserve>",
               help="vCPUs of the libvirt side. Unset: what the Docker side leaves."),
    cfg.IntOpt("kvm_memory_mb", min=0, sample_default="<the rest after the reserve>",
               help="RAM (MiB) of the libvirt side. Unset: what the Docker side leaves."),
    cfg.IntOpt("kvm_disk_gb", min=0, sample_default="<the rest after the reserve>",
               help="Disk (GiB) of the libvirt side. Unset: what the Docker side leaves."),
    cfg.FloatOpt(
        "docker_cpu_allocation_ratio", default=128.0, min=1.0, max=1024.0,
        help="vCPU overcommit of the Docker side: placement lets its containers' vCPUs "
             "add up to its vCPUs times this. A container's vCPUs are a CPU quota "
             "(docker --cpus), not cores set aside, so containers share the side's "
             "CPUs; 128 lets one vCPU hold 128 one-vCPU containers."),
    cfg.FloatOpt(
        "docker_ram_allocation_ratio", default=1.0, min=1.0, max=16.0,
        help="RAM overcommit of the Docker side. Each container's memory is hard-limited "
             "to its flavor's RAM (a cgroup limit); above 1.0 the limits may add up to "
             "more than the share, which holds only while containers stay well below "
             "their limits."),
    cfg.FloatOpt(
        "docker_disk_allocation_ratio", default=1.0, min=1.0, max=16.0,
        help="Disk overcommit of the Docker side (a container's flavor disk is not "
             "allocated: it writes to a copy-on-write layer)."),
    cfg.FloatOpt(
        "kvm_cpu_allocation_ratio", default=4.0, min=1.0, max=64.0,
        deprecated_opts=[cfg.DeprecatedOpt("cpu_allocation_ratio", group="host")],
        help="vCPU overcommit of the libvirt side: placement lets its VMs' vCPUs add up "
             "to its vCPUs times this. Its deprecated name cpu_allocation_ratio once "
             "applied to both sides; it now sets this one only."),
    cfg.FloatOpt(
        "kvm_ram_allocation_ratio", default=1.0, min=1.0, max=4.0,
        help="RAM overcommit of the libvirt side. Above 1.0 its VMs may be promised "
             "more RAM than its share, and the host may swap or OOM-kill a VM."),
    cfg.FloatOpt(
        "kvm_disk_allocation_ratio", default=1.0, min=1.0, max=16.0,
        help="Disk overcommit of the libvirt side (qcow2 disks grow as they are written)."),
]

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
    cfg.StrOpt("bin_dir", sample_default="<the bin directory of the running Python>",
               help="Directory holding nova-compute, neutron-openvswitch-agent, "
                    "privsep-helper and hybridhost (the virtualenv's bin)."),
]

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

docker_group = cfg.OptGroup("docker", help="The Docker engine of the container side.")
docker_opts = [
    cfg.StrOpt("url", default="unix:///var/run/docker.sock",
               help="Docker API endpoint; with [host] manage_services, dockerd listens here "
                    "(unix sockets only)."),
    cfg.StrOpt("min_api_version", default="1.41",
               help="Oldest Docker API version hybridhost supports (Debian 12's docker.io "
                    "speaks 1.41)."),
    cfg.StrOpt("data_root", default="/var/lib/docker",
               help="dockerd --data-root when hybridhost runs dockerd."),
]

libvirt_group = cfg.OptGroup("libvirt", help="libvirt of the VM side.")
libvirt_opts = [
    cfg.StrOpt("connection_uri", default="qemu:///system", help="libvirt connection URI."),
    cfg.StrOpt("virt_type", default="qemu", choices=[
        ("qemu", "software emulation (TCG); works everywhere"),
        ("kvm", "hardware virtualisation; needs a usable /dev/kvm")],
        help="nova's [libvirt] virt_type."),
    cfg.StrOpt("socket", default="/var/run/libvirt/libvirt-sock",
               help="libvirtd's read-write unix socket (what nova-compute-kvm waits for)."),
    cfg.BoolOpt("force_config_drive", default=True,
                help="Give every VM a config drive (nova's [DEFAULT] force_config_drive; "
                     "an ISO 9660 image made with genisoimage). The box runs no metadata "
                     "agent, so this is how a VM finds its neutron address, hostname and "
                     "keys without a DHCP or metadata service."),
]

ovs_group = cfg.OptGroup("ovs", help="Open vSwitch and the single neutron OVS agent.")
ovs_opts = [
    cfg.StrOpt("ovsdb_connection", default="unix:/var/run/openvswitch/db.sock",
               regex=r"^(unix:/|tcp:127\.|tcp:\[::1\])",
               help="OVSDB connection (unix:PATH, or tcp on loopback)."),
    cfg.StrOpt("run_dir", default="/var/run/openvswitch",
               help="OVS run directory (OVS_RUNDIR): pid files and control sockets."),
    cfg.StrOpt("db_file", default="/var/lib/openvswitch/conf.db",
               help="ovsdb-server's database file when hybridhost runs it."),
    cfg.StrOpt("integration_bridge", default="br-int", help="The integration bridge."),
    cfg.StrOpt("tunnel_bridge", default="br-tun", help="The tunnel bridge."),
    cfg.StrOpt("datapath_type", default="netdev", choices=[
        ("netdev", "userspace datapath; no kernel module needed"),
        ("system", "the openvswitch kernel module")],
        help="Datapath type of every bridge."),
    cfg.IPOpt("local_ip", default="127.0.0.1",
              help="Tunnel endpoint address of this box."),
    cfg.ListOpt("tunnel_types", default=["vxlan"],
                item_type=types.String(choices=["vxlan", "geneve", "gre"]),
                help="Tunnel types the agent offers."),
    cfg.ListOpt("bridge_mappings", default=[],
                help="physnet:bridge pairs for flat/VLAN networks."),
    cfg.PortOpt("of_listen_port", default=6633,
                help="The agent's OpenFlow controller port (on 127.0.0.1)."),
    cfg.StrOpt("firewall_driver", default="openvswitch",
               choices=["openvswitch", "noop"],
               help="Security groups: the openvswitch firewall, or none. iptables_hybrid "
                    "cannot work with a netdev datapath."),
    cfg.Opt("vif_prefix", type=linknames.VifPrefix(), default="hhd",
            help="Name prefix of container VIFs on the integration bridge; distinct "
                 "from libvirt's 'tap' so each side only touches its own ports. 2-4 "
                 "lower-case letters; 'tap' and any prefix of another program's links "
                 "(qvo, qvb, qr-, qg-, br, veth, eth, ...) are refused."),
]

openstack_group = cfg.OptGroup("openstack", help="The control plane both computes join.")
openstack_opts = [
    cfg.StrOpt("transport_url", secret=True, default="rabbit://guest:guest@127.0.0.1:5672/",
               help="oslo.messaging transport URL (RabbitMQ)."),
    cfg.URIOpt("auth_url", default="http://127.0.0.1:5000/v3", schemes=["http", "https"],
               help="Keystone v3 endpoint."),
    cfg.StrOpt("region_name", default="RegionOne", help="Region of the services."),
    cfg.StrOpt("username", default="nova", help="Service user nova-compute authenticates as."),
    cfg.StrOpt("password", secret=True, default="",
               help="Password of the service user."),
    cfg.StrOpt("project_name", default="service", help="Project of the service user."),
    cfg.StrOpt("user_domain_name", default="Default", help="Domain of the service user."),
    cfg.StrOpt("project_domain_name", default="Default", help="Domain of the project."),
    cfg.StrOpt("interface", default="internal", choices=["public", "internal", "admin"],
               help="Which catalog endpoints to use."),
    cfg.URIOpt("glance_endpoint", schemes=["http", "https"],
               help="Override glance's catalog endpoint."),
    cfg.URIOpt("neutron_endpoint", schemes=["http", "https"],
               help="Override neutron's catalog endpoint."),
    cfg.URIOpt("placement_endpoint", schemes=["http", "https"],
               help="Override placement's catalog endpoint."),
]

lab_group = cfg.OptGroup(
    "lab", help="The lab: a minimal real control plane (MariaDB, RabbitMQ, keystone, "
                "placement, glance, nova, neutron) on this box, started by 'hybridhost "
                "lab up' under the same supervisord. Every service listens on 127.0.0.1.")


def _port(name, default, what):
    return cfg.PortOpt(name, default=default, min=1,
                       help="127.0.0.1 port of %s." % what)


lab_opts = [
    cfg.BoolOpt("enabled", default=False,
                help="Render and run the lab's control plane with the box (required by "
                     "'hybridhost lab up'). The computes and the agent then join the lab "
                     "instead of [openstack]."),
    cfg.StrOpt("state_dir", sample_default="<[paths] state_root>/lab",
               help="The lab's databases, message queue, image store, generated "
                    "passwords (secrets.json, mode 0600), openrc and clouds.yaml. "
                    "'hybridhost lab purge' deletes it."),
    cfg.StrOpt("cache_dir", default="/var/cache/hybridhost",
               help="Built demo artefacts (guest kernel and initramfs, Docker image "
                    "tarball); kept by 'hybridhost lab purge'."),
    _port("mysql_port", 13306, "MariaDB"),
    _port("rabbit_port", 5672, "RabbitMQ (AMQP)"),
    _port("rabbit_dist_port", 25672, "RabbitMQ's Erlang distribution"),
    _port("epmd_port", 4369, "the Erlang port mapper RabbitMQ starts"),
    _port("keystone_port", 5000, "keystone (identity)"),
    _port("placement_port", 8778, "placement"),
    _port("glance_port", 9292, "glance (images)"),
    _port("nova_api_port", 8774, "the nova API"),
    _port("neutron_port", 9696, "the neutron API"),
    cfg.IntOpt("api_threads", default=4, min=1, max=64,
               help="Threads of each API's single uWSGI process."),
    cfg.StrOpt("tenant_cidr", default="10.77.0.0/24",
               help="CIDR of the demo tenant network's subnet. Must be an IPv4 network "
                    "of /16 to /29."),
    cfg.BoolOpt("dhcp_agent", default=False,
                help="Run neutron's DHCP agent and turn DHCP on in the demo subnet. Off: "
                     "VMs read their neutron address from the config drive ([libvirt] "
                     "force_config_drive) and containers get theirs from the Docker "
                     "driver, which saves the agent, its dnsmasq and its privsep daemons "
                     "(about 0.6 GB). Turn it on for images that only know DHCP."),
    cfg.BoolOpt("demo", default=True,
                help="Create the demo content: tenant network and subnet, flavors for "
                     "containers and VMs, the busybox Docker image and the TCG guest."),
]

_GROUPS = (
    (host_group, host_opts),
    (paths_group, paths_opts),
    (supervisor_group, supervisor_opts),
    (docker_group, docker_opts),
    (libvirt_group, libvirt_opts),
    (ovs_group, ovs_opts),
    (openstack_group, openstack_opts),
    (lab_group, lab_opts),
)


def register_opts(conf):
    for group, opts in _GROUPS:
        conf.register_group(group)
        conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts) for group, opts in _GROUPS]


def machine_hostname():
    """The short host name, as libvirt reports it for the nodename."""
    return socket.gethostname().split(".")[0]


def default_bin_dir():
    return os.path.dirname(os.path.abspath(sys.executable))


def load(argv=None, default_config_files=None):
    """Parse hybridhost.conf (and --config-file/--config-dir) into a fresh ConfigOpts.

    Errors become ``ConfigInvalid`` naming the option and the fix.
    """
    conf = cfg.ConfigOpts()
    register_opts(conf)
    if default_config_files is None:
        default_config_files = ([DEFAULT_CONFIG_FILE]
                                if os.path.exists(DEFAULT_CONFIG_FILE) else [])
    try:
        conf(args=list(argv or []), project="hybridhost",
             default_config_files=default_config_files,
             use_env=False)
        _check_values(conf)
    except cfg.ConfigFilesNotFoundError as err:
        raise exception.ConfigInvalid(
            option="--config-file",
            reason="cannot read %s; pass an existing file." % ", ".join(err.config_files)
        ) from err
    except cfg.ConfigFileParseError as err:
        raise exception.ConfigInvalid(
            option=err.config_file,
            reason="not an INI file: %s" % err.msg) from err
    except (cfg.ConfigFileValueError, ValueError) as err:
        raise exception.ConfigInvalid(option=_option_of(err), reason=str(err)) from err
    except cfg.NoSuchOptError as err:
        raise exception.ConfigInvalid(option="%s.%s" % (err.group, err.opt_name),
                                      reason="no such option") from err
    return conf


def _option_of(err):
    text = str(err)
    for group, opts in _GROUPS:
        for opt in opts:
            if ("[%s] %s" % (group.name, opt.name)) in text or (
                    "%s.%s" % (group.name, opt.name)) in text:
                return "[%s] %s" % (group.name, opt.name)
    return "hybridhost.conf"


def _check_values(conf):
    """Force every option to be parsed now, so a bad value is reported at load time.

    oslo.config parses values lazily; without this a typo would surface as a
    traceback in the middle of rendering.
    """
    for group, opts in _GROUPS:
        for opt in opts:
            try:
                getattr(conf[group.name], opt.dest)
            except (cfg.ConfigFileValueError, ValueError) as err:
                raise exception.ConfigInvalid(
                    option="[%s] %s" % (group.name, opt.name),
                    reason="%s. Fix the value in hybridhost.conf (see 'hybridhost "
                           "render --help' and README.rst's configuration reference)."
                           % _short(err)) from err
    _reject_unknown_options(conf)
    _check_combinations(conf)


def _check_combinations(conf):
    if conf.supervisor.inet_port and not conf.supervisor.inet_password:
        raise exception.ConfigInvalid(
            option="[supervisor] inet_password",
            reason="inet_port is set, so an unauthenticated XML-RPC server would be "
                   "reachable; set inet_password (or remove inet_port).")
    if not conf.docker.url.startswith("unix://"):
        raise exception.ConfigInvalid(
            option="[docker] url",
            reason="only unix:// sockets are supported (a TCP Docker API is root "
                   "for anyone who reaches it).")


def _short(err):
    text = str(err)
    return text.split(": ", 1)[-1] if "Value for option" in text else text


def _reject_unknown_options(conf):
    """A misspelt option would otherwise be ignored silently."""
    known = {group.name: {opt.dest for opt in opts} | _deprecated_names(group, opts)
             for group, opts in _GROUPS}
    known["DEFAULT"] = {"config_file", "config_dir", "config_source"}
    for section, options in _config_file_contents(conf):
        if section not in known:
            raise exception.ConfigInvalid(
                option="[%s]" % section,
                reason="unknown section; known sections are %s." % ", ".join(
                    sorted(k for k in known if k != "DEFAULT")))
        for name in options:
            if name.replace("-", "_") not in known[section]:
                raise exception.ConfigInvalid(
                    option="[%s] %s" % (section, name),
                    reason="unknown option; check its spelling in README.rst's "
                           "configuration reference.")


def _deprecated_names(group, opts):
    return {old.name for opt in opts for old in opt.deprecated_opts
            if old.group in (None, group.name)}


def _config_file_contents(conf):
    # oslo.config keeps the parsed files; reading them again keeps this independent
    # of its private attributes.
    from oslo_config import iniparser

    class _Collect(iniparser.BaseParser):
        def __init__(self):
            self.found = []
            self.section = None

        def new_section(self, section):
            self.section = section
            self.found.append((section, []))

        def assignment(self, key, value):
            if self.section is not None:
                self.found[-1][1].append(key)

        def parse_exc(self, msg, lineno, line=None):
            return ValueError("%s at line %d" % (msg, lineno))

    for path in conf.config_file or []:
        parser = _Collect()
        with open(path) as handle:
            parser.parse(handle)
        yield from parser.found


# --- [lab]: checks the option types cannot express ---------------------------------


def lab_tenant_network(conf):
    """The demo subnet as an ``ipaddress.IPv4Network``; ConfigInvalid when unusable."""
    try:
        network = ipaddress.ip_network(conf.lab.tenant_cidr, strict=True)
    except ValueError as err:
        raise exception.ConfigInvalid(
            option="[lab] tenant_cidr",
            reason="%s; give a network such as 10.77.0.0/24." % err) from err
    if network.version != 4 or not 16 <= network.prefixlen <= 29:
        raise exception.ConfigInvalid(
            option="[lab] tenant_cidr",
            reason="%s is not an IPv4 network of /16 to /29." % network)
    return network


def lab_ports(conf):
    """``{option: port}`` of every lab listener, for the duplicate check."""
    return {opt.name: getattr(conf.lab, opt.name) for opt in lab_opts
            if opt.name.endswith("_port")}


def check_lab(conf):
    """Refuse contradictions the option types cannot express."""
    lab_tenant_network(conf)
    seen = {}
    for name, port in sorted(lab_ports(conf).items()):
        if port in seen:
            raise exception.ConfigInvalid(
                option="[lab] %s" % name,
                reason="port %d is also [lab] %s; give each service its own port."
                       % (port, seen[port]))
        seen[port] = name
    if not conf.lab.dhcp_agent and not conf.libvirt.force_config_drive:
        raise exception.ConfigInvalid(
            option="[lab] dhcp_agent",
            reason="with no DHCP agent VMs learn their address only from the config "
                   "drive, and [libvirt] force_config_drive is false; set one of the two "
                   "to true.")
    if conf.ovs.of_listen_port in seen:
        raise exception.ConfigInvalid(
            option="[lab] %s" % seen[conf.ovs.of_listen_port],
            reason="port %d is the OVS agent's [ovs] of_listen_port."
                   % conf.ovs.of_listen_port)
