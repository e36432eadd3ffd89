"""Demo content of the lab: a tenant network, flavors for containers and VMs, images,
and quotas that let the projects fill the box.

Idempotent: each object is found by name and created only when missing. The images
come from ``hybridhost.lab.container_image`` (a busybox ``docker save`` tarball) and
``hybridhost.lab.guest`` (a kernel and initramfs that boot under QEMU TCG).
"""

import dataclasses
import logging
import os

from hybridhost import conf as hh_conf
from hybridhost.lab import container_image
from hybridhost.lab import demo_router
from hybridhost.lab import guest
from hybridhost.ledger import model as ledger_model

LOG = logging.getLogger(__name__)

NETWORK = "hh-demo-net"
SUBNET = "hh-demo-subnet"
TRAIT_DOCKER = "CUSTOM_HV_DOCKER"
TRAIT_KVM = "CUSTOM_HV_KVM"
CONTAINER_IMAGE = "hh-busybox"
GUEST_KERNEL = "hh-guest-kernel"
GUEST_RAMDISK = "hh-guest-initramfs"
GUEST_IMAGE = "hh-guest"
GUEST_BUILD_PROPERTY = "hybridhost_guest_build"
#: nova waits this long for a guest to power off cleanly (stop, shelve) before it pulls
#: the plug; the demo guest has nothing to save and no ACPI handler (nova's default: 60 s).
STOP_TIMEOUT_PROPERTY = "os_shutdown_timeout"
GUEST_STOP_TIMEOUT_S = 5
CONTAINER_BUILD_PROPERTY = "hybridhost_container_build"
# The guest's root disk is never read (everything is in the initramfs): one MiB of raw.
GUEST_DISK_BYTES = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class FlavorSpec:
    name: str
    vcpus: int
    ram: int
    disk: int
    trait: str


FLAVORS = (
    # The smallest container worth booting by the hundred: busybox lives in a few MiB.
    FlavorSpec("hh.container.tiny", 1, 64, 1, TRAIT_DOCKER),
    FlavorSpec("hh.container", 1, 256, 1, TRAIT_DOCKER),
    FlavorSpec("hh.container.large", 2, 1024, 2, TRAIT_DOCKER),
    FlavorSpec("hh.vm", 1, 256, 1, TRAIT_KVM),
    FlavorSpec("hh.vm.large", 2, 512, 2, TRAIT_KVM),
)
SIDE_OF_TRAIT = {TRAIT_DOCKER: "docker", TRAIT_KVM: "kvm"}


def room_flavors():
    """The demo flavors as the ledger counts the room left for them."""
    return tuple(ledger_model.Flavor(spec.name, SIDE_OF_TRAIT[spec.trait], spec.vcpus,
                                     spec.ram, spec.disk) for spec in FLAVORS)


def subnet_gateway(conf):
    """The demo subnet's gateway (the demo router's address), None without routers."""
    if not conf.lab.l3_agent:
        return None
    return str(next(hh_conf.lab_tenant_network(conf).hosts()))


def _pool_after_gateway(conf):
    hosts = list(hh_conf.lab_tenant_network(conf).hosts())
    return [{"start": str(hosts[1]), "end": str(hosts[-1])}]


def ensure_network(conn, conf):
    network = conn.network.find_network(NETWORK)
    if network is None:
        network = conn.network.create_network(
            name=NETWORK, shared=True, description="hybridhost lab demo tenant network")
    # DHCP off: nova then writes each VM's static address into its config drive
    # (network_data.json says "ipv4", not "ipv4_dhcp" with no address).
    dhcp = bool(conf.lab.dhcp_agent)
    gateway = subnet_gateway(conf)
    subnet = conn.network.find_subnet(SUBNET, network_id=network.id)
    if subnet is None:
        subnet = conn.network.create_subnet(
            name=SUBNET, network_id=network.id, ip_version=4,
            cidr=str(hh_conf.lab_tenant_network(conf)), is_dhcp_enabled=dhcp,
            gateway_ip=gateway)
    if subnet.is_dhcp_enabled != dhcp:
        LOG.info("Turning DHCP %s in subnet %s ([lab] dhcp_agent)", "on" if dhcp else "off",
                 SUBNET)
        conn.network.update_subnet(subnet, is_dhcp_enabled=dhcp)
    if gateway and not subnet.gateway_ip:
        # A subnet made before the lab had routers: its pool starts at the gateway.
        LOG.info("Giving subnet %(subnet)s the gateway %(gateway)s",
                 {"subnet": SUBNET, "gateway": gateway})
        conn.network.update_subnet(subnet, gateway_ip=gateway,
                                   allocation_pools=_pool_after_gateway(conf))
    return network, subnet


def ensure_icmp_allowed(conn):
    """The admin project's default security group also lets ICMP in from anywhere."""
    project_id = conn.current_project_id
    groups = list(conn.network.security_groups(name="default", project_id=project_id))
    if not groups:
        return
    group = groups[0]
    for rule in group.security_group_rules or ():
        if rule.get("protocol") == "icmp" and rule.get("direction") == "ingress":
            return
    conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ethertype="IPv4",
        protocol="icmp", remote_ip_prefix="0.0.0.0/0")


def ensure_flavor(conn, spec):
    flavor = conn.compute.find_flavor(spec.name)
    if flavor is None:
        flavor = conn.compute.create_flavor(name=spec.name, vcpus=spec.vcpus, ram=spec.ram,
                                            disk=spec.disk, is_public=True)
    wanted = {"trait:%s" % spec.trait: "required"}
    current = conn.compute.fetch_flavor_extra_specs(flavor).extra_specs or {}
    if any(current.get(key) != value for key, value in wanted.items()):
        conn.compute.create_flavor_extra_specs(flavor, wanted)
    return flavor


def _find_active_image(conn, name):
    image = conn.image.find_image(name)
    if image is not None and image.status != "active":
        LOG.warning("Image %(name)s is %(status)s; uploading it again",
                    {"name": name, "status": image.status})
        conn.image.delete_image(image)
        return None
    return image


def _upload(conn, name, path, disk_format, container_format, **properties):
    image = _find_active_image(conn, name)
    if image is not None:
        return image, False
    with open(path, "rb") as handle:
        image = conn.image.create_image(
            name=name, data=handle, disk_format=disk_format,
            container_format=container_format, visibility="public",
            allow_duplicates=True, validate_checksum=False, **properties)
    return conn.image.wait_for_status(image, status="active", wait=300), True


def ensure_container_image(conn, conf):
    """The image records its build (CONTAINER_BUILD_PROPERTY, the tarball's name): an
    older build (or one from before the property) is replaced."""
    tarball = container_image.build(conf.lab.cache_dir, conf.docker.url)
    build_id = os.path.splitext(os.path.basename(tarball))[0]
    existing = _find_active_image(conn, CONTAINER_IMAGE)
    if existing is not None and (existing.properties or {}).get(
            CONTAINER_BUILD_PROPERTY) == build_id:
        return existing, False
    for image in list(conn.image.images(name=CONTAINER_IMAGE)):
        LOG.info("Replacing image %(name)s %(id)s with %(build)s",
                 {"name": CONTAINER_IMAGE, "id": image.id, "build": build_id})
        conn.image.delete_image(image)
    # hypervisor_type: the scheduler keeps it off the libvirt side.
    return _upload(conn, CONTAINER_IMAGE, tarball, "raw", "docker",
                   hypervisor_type="docker", **{CONTAINER_BUILD_PROPERTY: build_id})


def _raw_disk(cache_dir):
    path = os.path.join(cache_dir, "hh-guest-root.raw")
    if not os.path.exists(path) or os.path.getsize(path) != GUEST_DISK_BYTES:
        os.makedirs(cache_dir, exist_ok=True)
        with open(path, "wb") as handle:
            handle.truncate(GUEST_DISK_BYTES)
    return path


def ensure_guest_images(conn, conf, guest_artifacts=None):
    """kernel (aki), initramfs (ari) and the bootable ami referring to both.

    The ami records which guest build it boots (GUEST_BUILD_PROPERTY): when the
    recipe or the kernel changed, the three images are replaced.
    """
    artifacts = guest_artifacts or guest.build(conf.lab.cache_dir)
    existing = _find_active_image(conn, GUEST_IMAGE)
    if existing is not None and (existing.properties or {}).get(
            GUEST_BUILD_PROPERTY) == artifacts.build_id:
        return _with_stop_timeout(conn, existing), False
    # An older build, or a kernel/initramfs left by an interrupted upload: all three go.
    for name in (GUEST_IMAGE, GUEST_KERNEL, GUEST_RAMDISK):
        for image in list(conn.image.images(name=name)):
            LOG.info("Replacing image %(name)s %(id)s with guest build %(build)s",
                     {"name": name, "id": image.id, "build": artifacts.build_id})
            conn.image.delete_image(image)
    kernel, _ = _upload(conn, GUEST_KERNEL, artifacts.kernel_path, "aki", "aki")
    ramdisk, _ = _upload(conn, GUEST_RAMDISK, artifacts.initramfs_path, "ari", "ari")
    return _upload(conn, GUEST_IMAGE, _raw_disk(conf.lab.cache_dir), "ami", "ami",
                   **guest_properties(kernel.id, ramdisk.id, artifacts.cmdline),
                   **{GUEST_BUILD_PROPERTY: artifacts.build_id})


def guest_properties(kernel_id, ramdisk_id, cmdline):
    # pc, not q35: the cloud kernel has no AHCI driver; hypervisor_type keeps the
    # guest off the Docker side.
    return {"kernel_id": kernel_id, "ramdisk_id": ramdisk_id, "hw_machine_type": "pc",
            "os_command_line": cmdline, "hypervisor_type": "qemu",
            STOP_TIMEOUT_PROPERTY: str(GUEST_STOP_TIMEOUT_S)}


def _with_stop_timeout(conn, image):
    """An image uploaded before the guest's stop timeout was a property gets it."""
    if str((image.properties or {}).get(STOP_TIMEOUT_PROPERTY)) == str(GUEST_STOP_TIMEOUT_S):
        return image
    LOG.info("Setting %(key)s=%(value)s on image %(name)s", {
        "key": STOP_TIMEOUT_PROPERTY, "value": GUEST_STOP_TIMEOUT_S, "name": GUEST_IMAGE})
    # Glance takes an image's own properties as strings only.
    return conn.image.update_image(image, **{STOP_TIMEOUT_PROPERTY: str(GUEST_STOP_TIMEOUT_S)})


def ensure(conn, conf, report):
    """Everything above; ``report(message)`` after each part."""
    network, subnet = ensure_network(conn, conf)
    ensure_icmp_allowed(conn)
    report("network %s (%s, gateway %s), VM addresses by %s" % (
        NETWORK, hh_conf.lab_tenant_network(conf), subnet.gateway_ip or "none",
        "DHCP" if conf.lab.dhcp_agent else "config drive"))
    if conf.lab.l3_agent:
        demo_router.ensure(conn, conf, subnet)
        report("router %s: gateway on %s (%s), interface on %s" % (
            demo_router.ROUTER, demo_router.PUBLIC, hh_conf.lab_public_network(conf), SUBNET))
    for spec in FLAVORS:
        ensure_flavor(conn, spec)
    report("flavors %s" % ", ".join(spec.name for spec in FLAVORS))
    image, uploaded = ensure_container_image(conn, conf)
    report("image %s (container_format=docker) %s" % (
        CONTAINER_IMAGE, "uploaded" if uploaded else "present"))
    image, uploaded = ensure_guest_images(conn, conf)
    report("image %s (aki/ari/ami, TCG guest) %s" % (
        GUEST_IMAGE, "uploaded" if uploaded else "present"))
    return network
