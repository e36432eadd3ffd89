"""The lab's host outside supervisord: libvirt's qemu.conf, and what the lab's programs
leave running or behind when they stop (nova's guests, the Docker side's containers,
dnsmasq, the DHCP agent's qdhcp namespaces, the L3 agent's qrouter namespaces)."""

import logging
import os
import re

from pyroute2 import netns as pyroute2_netns

from hybridhost import exception
from hybridhost import lab_state

LOG = logging.getLogger(__name__)

QEMU_CONF = "/etc/libvirt/qemu.conf"
# libvirtd runs QEMU as root without AppArmor/SELinux on this kind of box.
QEMU_SETTINGS = (('user', '"root"'), ('group', '"root"'), ('security_driver', '"none"'))


def configure_qemu(path=QEMU_CONF):
    """Make libvirt's qemu.conf run guests as root with no security driver; True if changed."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        lines = []
    wanted = dict(QEMU_SETTINGS)
    kept = [line for line in lines
            if line.split("=", 1)[0].strip() not in wanted or line.lstrip().startswith("#")]
    current = {line.split("=", 1)[0].strip(): line.split("=", 1)[1].strip()
               for line in lines if "=" in line and not line.lstrip().startswith("#")}
    if all(current.get(key) == value for key, value in wanted.items()):
        return False
    kept.append("# hybridhost lab: guests run as root, no AppArmor on this box")
    kept.extend("%s = %s" % item for item in QEMU_SETTINGS)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("\n".join(kept) + "\n")
    return True


NOVA_METADATA = "http://openstack.org/xmlns/libvirt/nova/"


def _nova_domains(connection, active_only):
    import libvirt

    flags = libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE if active_only else 0
    for domain in connection.listAllDomains(flags):
        if NOVA_METADATA in domain.XMLDesc():
            yield domain


def stop_guests(conf, undefine=False):
    """Power off the libvirt side's (nova's) guests while libvirtd still runs: QEMU
    outlives libvirtd. With ``undefine`` (purge) also forget them, or the next lab's
    nova-compute refuses to start ("existing instances ... new service").

    Only with a libvirtd the box runs; nova's power-state sync notices. Returns the
    domain names.
    """
    if not (conf.host.manage_services and "libvirtd" in conf.host.managed_services):
        return []
    import libvirt

    try:
        connection = libvirt.open(conf.libvirt.connection_uri)
    except libvirt.libvirtError as err:
        LOG.debug("libvirt not reachable, no guest to stop: %s", err)
        return []
    names = []
    try:
        for domain in _nova_domains(connection, active_only=not undefine):
            if domain.isActive():
                domain.destroy()
            if undefine:
                domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
            LOG.info("Stopped guest %s", domain.name())
            names.append(domain.name())
    finally:
        connection.close()
    return names


def remove_containers(conf, plan):
    """Purge: remove the Docker side's containers (the engine's own labels say whose)."""
    from hybridhost.virt.docker import engine as docker_engine

    try:
        engine = docker_engine.Engine.connect(conf.docker.url, conf.docker.min_api_version,
                                              plan.docker.host, timeout=30)
        owned = engine.list_own()
    except exception.HybridhostError as err:
        LOG.debug("Docker not reachable, no container to remove: %s", err)
        return 0
    for info in owned:
        engine.remove(info.uuid)
    return len(owned)


def stop_dnsmasq(conf):
    """dnsmasq daemonizes out of supervisord's process tree: stop the lab's by path."""
    import psutil

    marker = lab_state.layout(conf).path("neutron-dhcp") + "/"
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "dnsmasq" and marker in " ".join(
                process.info["cmdline"] or []):
            found.append(process)
    for process in found:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(found, timeout=5)
    return len(found)


def dhcp_namespaces(conf):
    """The qdhcp-<network> namespaces the lab's DHCP agent made."""
    directory = lab_state.layout(conf).path("neutron-dhcp", "dhcp")
    if not os.path.isdir(directory):
        return []
    return ["qdhcp-%s" % name for name in sorted(os.listdir(directory))
            if re.match(r"^[0-9a-f-]{36}$", name)]


def remove_dhcp_namespaces(conf):
    existing = pyroute2_netns.listnetns()
    gone = [name for name in dhcp_namespaces(conf) if name in existing]
    for namespace in gone:
        pyroute2_netns.remove(namespace)
    return len(gone)


ROUTER_NAMESPACE = re.compile(r"^qrouter-[0-9a-f-]{36}$")
# The L3 agent's veth pairs: qr-/qg-<id> in the namespace, tap<id> on br-int.
ROUTER_LINK = re.compile(r"^q[rg]-([0-9a-f-]{11})$")


def router_namespaces():
    """The qrouter-<router> namespaces (only the lab's L3 agent makes them here)."""
    return sorted(name for name in pyroute2_netns.listnetns() if ROUTER_NAMESPACE.match(name))


def router_taps(link_names):
    """The integration bridge's ends of a router namespace's qr-/qg- veths."""
    return ["tap" + match.group(1) for match in map(ROUTER_LINK.match, link_names) if match]


def _links_in(namespace):
    from pyroute2 import NetNS

    with NetNS(namespace) as ns:
        return [link.get_attr("IFLA_IFNAME") for link in ns.get_links()]


def _delete_ovs_ports(conf, names):
    from hybridhost.virt.docker import ovs

    try:
        ovs.delete_ports_named(conf.ovs.ovsdb_connection, names)
    except exception.HybridhostError as err:
        LOG.debug("OVSDB not reachable, router ports left in it: %s", err)


def remove_router_namespaces(conf):
    """The qrouter namespaces, their veth pairs and (when OVSDB answers) the pairs' ports
    on the integration bridge; returns how many namespaces went."""
    gone = router_namespaces()
    for namespace in gone:
        taps = router_taps(_links_in(namespace))
        pyroute2_netns.remove(namespace)
        if taps:
            _delete_ovs_ports(conf, taps)
    return len(gone)
