"""The rules every rendered box must keep; checked on the rendered files themselves.

Each rule reads what was actually rendered (parsed back from the INI text), so a
renderer bug cannot slip past them.
"""

import configparser
import os

from hybridhost import exception
from hybridhost import plan as box_plan
from hybridhost.render import nova as nova_render

DOCKER_CONF = "conf/nova-docker.conf"
KVM_CONF = "conf/nova-kvm.conf"
AGENT_CONF = "conf/neutron-openvswitch-agent.conf"


def _parse(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def _broken(rule, reason, fix):
    raise exception.RenderRuleBroken(rule=rule, reason=reason, fix=fix)


def check_identities(docker, kvm, plan):
    if docker["DEFAULT"]["host"] == kvm["DEFAULT"]["host"]:
        _broken("distinct host",
                "both nova-computes would be host %r." % kvm["DEFAULT"]["host"],
                "give [host] docker_compute_host and kvm_compute_host different values.")
    if docker["hybridhost_docker"]["nodename"] == plan.kvm.nodename:
        _broken("distinct nodename",
                "the Docker side's nodename %r is the libvirt side's (libvirt reports "
                "the machine's hostname); placement would see one provider twice."
                % plan.kvm.nodename,
                "set [host] docker_nodename to another name.")


def check_separate_paths(docker, kvm):
    for section, key in (("DEFAULT", "state_path"), ("DEFAULT", "instances_path"),
                         ("oslo_concurrency", "lock_path")):
        if os.path.normpath(docker[section][key]) == os.path.normpath(kvm[section][key]):
            _broken("separate %s" % key,
                    "both nova-computes would use %s." % docker[section][key],
                    "give each side its own [paths] state_root subdirectory.")
    logs = [os.path.join(c["DEFAULT"]["log_dir"], c["DEFAULT"]["log_file"])
            for c in (docker, kvm)]
    if logs[0] == logs[1]:
        _broken("separate log files", "both nova-computes would log to %s." % logs[0],
                "give each side its own log file.")


def check_binding_host(docker, agent):
    agent_host = agent["DEFAULT"]["host"]
    binding_host = docker["hybridhost_docker"]["network_binding_host"]
    if agent_host != binding_host:
        _broken("one agent",
                "the OVS agent runs as host %r but container ports would be bound to %r; "
                "neutron would refuse to bind them." % (agent_host, binding_host),
                "render again; the agent's host must be the libvirt side's host.")


def check_capacity(plan):
    for side in plan.sides:
        for resource in ("vcpus", "memory_mb", "disk_gb"):
            if getattr(side.share, resource) < 1:
                _broken("capacity",
                        "the %s side would get no %s (machine %s, reserve %s)." % (
                            side.key, resource, plan.machine, plan.reserve),
                        "lower the [host] reserve or give [host] %s_%s a value."
                        % (side.key, resource))
    used = plan.docker.share + plan.kvm.share + plan.reserve
    if not used.fits_in(plan.machine):
        _broken("capacity",
                "docker share %s + kvm share %s + reserve %s exceed the machine %s." % (
                    plan.docker.share, plan.kvm.share, plan.reserve, plan.machine),
                "lower [host] docker_* / kvm_* / reserved_* so they fit the machine.")


def _reserved(parsed):
    default = parsed["DEFAULT"]
    return box_plan.Capacity(int(default["reserved_host_cpus"]),
                             int(default["reserved_host_memory_mb"]),
                             int(default["reserved_host_disk_mb"]) // nova_render.MiB_PER_GiB)


def _ratios(parsed):
    return box_plan.Ratios(*(float(parsed["DEFAULT"]["%s_allocation_ratio" % resource])
                             for resource in ("cpu", "ram", "disk")))


def _docker_reports(docker):
    own = docker["hybridhost_docker"]
    return box_plan.Capacity(int(own["vcpus"]), int(own["memory_mb"]), int(own["disk_gb"]))


def _inventory_broken(side, what):
    _broken("inventory equals offer", "the %s side %s." % (side.key, what),
            "this is a renderer defect; please report it.")


def check_inventory_equals_offer(docker, kvm, plan):
    """Placement sees each side's offer, within its share, at its ratios; no reservation
    reaches what its driver reports (placement would refuse the inventory)."""
    # What each driver reports as its totals: the Docker driver its own options,
    # libvirt the figures the plan was made with.
    for side, parsed, total in ((plan.docker, docker, _docker_reports(docker)),
                                (plan.kvm, kvm, plan.libvirt)):
        reserved = _reserved(parsed)
        if not (reserved.vcpus < total.vcpus and reserved.memory_mb < total.memory_mb
                and reserved.disk_gb < total.disk_gb):
            _inventory_broken(side, "would reserve %s of the %s its driver reports" % (
                reserved, total))
        if total - reserved != side.offer or not side.offer.fits_in(side.share):
            _inventory_broken(side, "would offer %s to placement; its offer is %s within "
                              "its share %s" % (total - reserved, side.offer, side.share))
        if _ratios(parsed) != side.ratios:
            _inventory_broken(side, "would have allocation ratios %s, its ratios are %s" % (
                _ratios(parsed), side.ratios))


def check_all(files, plan):
    docker, kvm, agent = (_parse(files[name]) for name in (DOCKER_CONF, KVM_CONF, AGENT_CONF))
    check_identities(docker, kvm, plan)
    check_separate_paths(docker, kvm)
    check_binding_host(docker, agent)
    check_capacity(plan)
    check_inventory_equals_offer(docker, kvm, plan)
