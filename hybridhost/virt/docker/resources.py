"""What the Docker side reports of the machine: its share as nova's resources and
placement's inventory (``[hybridhost_docker] vcpus``, ``memory_mb``, ``disk_gb``), and
the host's uptime line."""

import json
import os
import platform
import time

from nova.objects import fields as obj_fields
import os_resource_classes as orc

TRAIT_HV_DOCKER = "CUSTOM_HV_DOCKER"


def available_resource(conf, hypervisor_version):
    """nova's ``get_available_resource`` of the side ``conf`` describes."""
    arch = obj_fields.Architecture.canonicalize(platform.machine())
    return {
        "vcpus": conf.vcpus, "memory_mb": conf.memory_mb, "local_gb": conf.disk_gb,
        "vcpus_used": 0, "memory_mb_used": 0, "local_gb_used": 0,
        "hypervisor_type": obj_fields.HVType.DOCKER,
        "hypervisor_version": hypervisor_version,
        "hypervisor_hostname": conf.nodename,
        "cpu_info": json.dumps({"arch": arch}),
        "disk_available_least": conf.disk_gb,
        "supported_instances": [(arch, obj_fields.HVType.DOCKER, obj_fields.VMMode.EXE)],
        "numa_topology": None,
    }


def _entry(total, ratio, reserved, max_unit=None):
    return {"total": total, "min_unit": 1, "max_unit": max_unit or total, "step_size": 1,
            "allocation_ratio": ratio, "reserved": reserved}


def vcpu_max_unit(total):
    """A container's vCPUs are a CFS limit over the machine's CPUs, not CPUs of the side's
    share: one container may ask as many as the machine has (Docker refuses more)."""
    return max(total, os.cpu_count() or 1)


def inventory(conf, ratios, reserved):
    """placement's inventory of the side: ``ratios`` and ``reserved`` by resource class."""
    return {
        orc.VCPU: _entry(conf.vcpus, ratios[orc.VCPU], reserved[orc.VCPU],
                         vcpu_max_unit(conf.vcpus)),
        orc.MEMORY_MB: _entry(conf.memory_mb, ratios[orc.MEMORY_MB], reserved[orc.MEMORY_MB]),
        orc.DISK_GB: _entry(conf.disk_gb, ratios[orc.DISK_GB], reserved[orc.DISK_GB]),
    }


def uptime_text(now=None):
    with open("/proc/uptime") as uptime, open("/proc/loadavg") as loadavg:
        seconds = int(float(uptime.read().split()[0]))
        load = loadavg.read().split()[:3]
    days, rest = divmod(seconds, 86400)
    clock = time.strftime("%H:%M:%S", time.localtime(now))
    return " %s up %d days, %d:%02d,  load average: %s" % (
        clock, days, rest // 3600, rest % 3600 // 60, ", ".join(load))
