"""[lab]: the control plane 'hybridhost lab up' runs on the box, and the checks
its option types cannot express."""

import ipaddress

from oslo_config import cfg

from hybridhost import exception

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
    cfg.BoolOpt("l3_agent", default=True,
                help="Run neutron's L3 agent (legacy routers, no metadata proxy) and the "
                     "external flat network hh-public on its own bridge br-ex, whose "
                     "host-side port holds the first address of [lab] public_cidr: "
                     "floating IPs are then reachable from this box (and only from it). "
                     "The demo subnet gets a gateway and a demo router joins it to "
                     "hh-public. Off: no router service and no L3 agent, which saves the "
                     "agent, its worker and its three privsep daemons (about 0.65 GB "
                     "summed RSS)."),
    cfg.StrOpt("public_cidr", default="172.24.4.0/24",
               help="CIDR of the external network hh-public (DevStack's 'public' "
                    "range). Its first address is the box's own (on br-ex), the rest "
                    "are floating IPs and router gateways. An IPv4 network of /16 to "
                    "/29, apart from [lab] tenant_cidr; keep it private and unused "
                    "elsewhere."),
    cfg.BoolOpt("demo", default=True,
                help="Create the demo content: tenant network and subnet, flavors for "
                     "containers and VMs, the busybox Docker image and the TCG guest."),
]


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


def lab_public_network(conf):
    """The external network as an ``ipaddress.IPv4Network``; ConfigInvalid when unusable."""
    try:
        network = ipaddress.ip_network(conf.lab.public_cidr, strict=True)
    except ValueError as err:
        raise exception.ConfigInvalid(
            option="[lab] public_cidr",
            reason="%s; give a network such as 172.24.4.0/24." % err) from err
    if network.version != 4 or not 16 <= network.prefixlen <= 29:
        raise exception.ConfigInvalid(
            option="[lab] public_cidr",
            reason="%s is not an IPv4 network of /16 to /29." % network)
    if network.overlaps(lab_tenant_network(conf)):
        raise exception.ConfigInvalid(
            option="[lab] public_cidr",
            reason="%s overlaps [lab] tenant_cidr %s; give two distinct networks."
                   % (network, conf.lab.tenant_cidr))
    return network


def lab_ports(conf):
    """``{option: port}`` of every lab listener, for the duplicate check."""
    return {opt.name: getattr(conf.lab, opt.name) for opt in lab_opts
            if opt.name.endswith("_port")}


def check_lab(conf):
    """Refuse contradictions the option types cannot express."""
    lab_tenant_network(conf)
    if conf.lab.l3_agent:
        lab_public_network(conf)
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
