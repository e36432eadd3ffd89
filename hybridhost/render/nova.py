"""nova-docker.conf and nova-kvm.conf: one nova-compute service each."""

import os

from hybridhost.render import ini
from hybridhost.render import keystone
from hybridhost.render import messaging

# Privsep contexts nova-compute (and os-vif, os-brick inside it) may start. Each gets
# an explicit helper so no 'sudo' is needed and the venv's privsep-helper is used.
NOVA_PRIVSEP_SECTIONS = ("nova_sys_admin", "vif_plug_ovs_privileged",
                          "vif_plug_linux_bridge_privileged", "privsep_osbrick")
DOCKER_PRIVSEP_SECTION = "hybridhost_docker_privileged"
DOCKER_DRIVER = "hybridhost_docker.DockerDriver"
# nova's LibvirtDriver, which also ends its connection-event thread at shutdown
# (hybridhost/virt/libvirt/driver.py).
KVM_DRIVER = "hybridhost_libvirt.LibvirtDriver"
MiB_PER_GiB = 1024
KVM_PROVIDER_CONFIG = "conf/provider-config-kvm/hv-kvm.yaml"
TRAIT_HV_KVM = "CUSTOM_HV_KVM"


def render_kvm_provider_config():
    """nova provider config giving the libvirt side's compute node its trait."""
    return ("# Rendered by 'hybridhost render'. The libvirt side's compute node carries\n"
            "# %(trait)s; VM flavors require it (trait:%(trait)s=required).\n"
            "meta:\n"
            "  schema_version: '1.0'\n"
            "providers:\n"
            "  - identification:\n"
            "      name: $COMPUTE_NODE\n"
            "    traits:\n"
            "      additional:\n"
            "        - %(trait)s\n" % {"trait": TRAIT_HV_KVM})


def _keystone_auth(conf, endpoint=None, **extra):
    os_ = conf.openstack
    items = keystone.password_auth(
        os_.auth_url, os_.username, os_.password, os_.project_name, os_.region_name,
        os_.user_domain_name, os_.project_domain_name)
    items.append(("valid_interfaces", os_.interface))
    items.extend(extra.items())
    items.append(("endpoint_override", endpoint))
    return items


def _privsep_helper(plan, side, section):
    helper = "%s --config-file %s" % (os.path.join(plan.bin_dir, "privsep-helper"),
                                      side.config_file)
    return (section, [("helper_command", helper)])


def _common_sections(conf, plan, side, compute_driver):
    reserved = side.reserved
    return [
        ("DEFAULT", [
            ("host", side.host),
            ("compute_driver", compute_driver),
            ("state_path", side.state_path),
            ("instances_path", side.instances_path),
            ("log_dir", os.path.dirname(side.log_file)),
            ("log_file", os.path.basename(side.log_file)),
            ("transport_url", conf.openstack.transport_url),
            ("my_ip", conf.ovs.local_ip),
            ("reserved_host_cpus", reserved.vcpus),
            ("reserved_host_memory_mb", reserved.memory_mb),
            ("reserved_host_disk_mb", reserved.disk_gb * MiB_PER_GiB),
            ("cpu_allocation_ratio", side.ratios.cpu),
            ("ram_allocation_ratio", side.ratios.ram),
            ("disk_allocation_ratio", side.ratios.disk),
            # Instances running when the box went down (or the machine rebooted) are
            # started again when their nova-compute starts; stopped ones stay stopped.
            ("resume_guests_state_on_host_boot", True),
            ("use_stderr", False),
            # oslo.messaging answers oslo_rpc_server_ping: hybridhost-watcher's liveness call.
            ("rpc_ping_enabled", True),
        ]),
        messaging.rabbit_section(conf.openstack.amqp_durable_queues),
        ("oslo_concurrency", [("lock_path", side.lock_path)]),
        ("workarounds", [("disable_rootwrap", True)]),
        ("os_vif_ovs", [("ovsdb_connection", conf.ovs.ovsdb_connection)]),
        ("glance", _keystone_auth(conf, conf.openstack.glance_endpoint)),
        ("neutron", _keystone_auth(conf, conf.openstack.neutron_endpoint,
                                   ovs_bridge=conf.ovs.integration_bridge)),
        ("placement", _keystone_auth(conf, conf.openstack.placement_endpoint)),
    ] + [_privsep_helper(plan, side, section) for section in NOVA_PRIVSEP_SECTIONS]


def render_docker(conf, plan):
    side = plan.docker
    # The driver reports exactly its share as inventory (side.offer); nova reserves nothing.
    sections = _common_sections(conf, plan, side, DOCKER_DRIVER)
    sections += [
        _privsep_helper(plan, side, DOCKER_PRIVSEP_SECTION),
        ("hybridhost_docker", [
            ("docker_url", conf.docker.url),
            ("min_api_version", conf.docker.min_api_version),
            ("nodename", side.nodename),
            ("network_binding_host", plan.agent.host),
            ("vcpus", side.offer.vcpus),
            ("memory_mb", side.offer.memory_mb),
            ("disk_gb", side.offer.disk_gb),
            ("integration_bridge", conf.ovs.integration_bridge),
            ("ovsdb_connection", conf.ovs.ovsdb_connection),
            ("vif_prefix", conf.ovs.vif_prefix),
        ]),
    ]
    return ini.render(sections, comment="nova-compute of the Docker (container) side.")


def render_kvm(conf, plan):
    side = plan.kvm
    # libvirt reports plan.libvirt; nova reserves what it reports beyond the share.
    sections = _common_sections(conf, plan, side, KVM_DRIVER)
    libvirt_items = [
        ("virt_type", conf.libvirt.virt_type),
        ("connection_uri", conf.libvirt.connection_uri),
    ]
    if conf.libvirt.virt_type == "qemu":
        libvirt_items.append(("cpu_mode", "none"))
    sections.append(("libvirt", libvirt_items))
    if conf.libvirt.force_config_drive:
        # No metadata agent on the box: the config drive is how a VM learns its address.
        dict(sections)["DEFAULT"].append(("force_config_drive", True))
    # The provider config adds the CUSTOM_HV_KVM trait VM flavors require.
    sections.append(("compute", [("provider_config_location", os.path.join(
        plan.config_dir, os.path.dirname(KVM_PROVIDER_CONFIG)))]))
    return ini.render(sections, comment=(
        "nova-compute of the libvirt (VM) side. Its nodename is libvirt's hostname (%s)."
        % side.nodename))
