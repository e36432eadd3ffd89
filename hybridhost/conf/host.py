"""[host]: the box, its two compute services and the capacity split."""

import socket

from oslo_config import cfg
from oslo_config import types

HOST_SERVICES = ("ovsdb-server", "ovs-vswitchd", "dockerd", "libvirtd", "virtlogd")

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
    cfg.StrOpt(
        "systemd_unit", default="auto", choices=("auto", "yes", "no"),
        help="Write hybridhost.service, the systemd unit that brings the box up at boot "
             "('hybridhost up --foreground'; stopped with 'hybridhost down'), into "
             "[paths] systemd_unit_dir when rendering, and enable it when it is first "
             "written. auto: when systemd runs this machine (/run/systemd/system "
             "exists)."),
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


def machine_hostname():
    """The short host name, as libvirt reports it for the nodename."""
    return socket.gethostname().split(".")[0]
