"""Flavor -> container HostConfig: the security and resource envelope of every container.

Rules (never relaxed by anything a user controls):

* never ``privileged``; every capability dropped, then only ``[hybridhost_docker]
  cap_add`` added back. The default set, :data:`DEFAULT_CAPS`, is what an ordinary
  service needs: change file owners and modes (CHOWN, DAC_OVERRIDE, FOWNER, FSETID),
  switch users (SETUID, SETGID), signal its own processes (KILL) and bind ports
  below 1024 (NET_BIND_SERVICE). NET_RAW (raw sockets) is allowed only when the
  operator adds it; ``ping`` works without it (ICMP echo sockets, see
  :data:`SYSCTLS`); anything in :data:`FORBIDDEN_CAPS` is refused outright;
* ``no-new-privileges`` (setuid binaries cannot gain privileges);
* memory limit = flavor RAM (and no swap beyond it), CPU limit = flavor vCPUs,
  a pids limit;
* no network from Docker (``network_mode=none``; hybridhost plugs neutron ports);
* restart policy ``no`` (nova's power-state sync owns restarts);
* no mounts at all, so the Docker socket can never reach a container.
"""

from collections.abc import Iterable
import dataclasses
from typing import Any

DEFAULT_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
                "NET_BIND_SERVICE")
ALLOWED_CAPS = DEFAULT_CAPS + ("NET_RAW", "SETFCAP", "SETPCAP", "SYS_CHROOT", "AUDIT_WRITE",
                               "MKNOD")
FORBIDDEN_CAPS = ("SYS_ADMIN", "NET_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO",
                  "SYS_BOOT", "SYS_TIME", "DAC_READ_SEARCH", "MAC_ADMIN", "MAC_OVERRIDE",
                  "BPF", "PERFMON", "SYSLOG", "LINUX_IMMUTABLE", "SYS_RESOURCE")
NANO_CPUS_PER_VCPU = 10 ** 9
MIB = 1024 * 1024
#: Namespaced sysctls every container gets: IPv6 on (Docker turns it off for
#: network_mode=none, which would make IPv6 fixed IPs unusable), and ICMP echo
#: sockets (``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)``) for every group, so ``ping``
#: works without NET_RAW.
SYSCTLS = {"net.ipv6.conf.all.disable_ipv6": "0", "net.ipv6.conf.default.disable_ipv6": "0",
           "net.ipv4.ping_group_range": "0 2147483647"}
ENGINE_SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock")


@dataclasses.dataclass(frozen=True)
class ContainerLimits:
    memory_bytes: int
    nano_cpus: int
    pids_limit: int
    cap_add: tuple[str, ...]


def check_caps(caps: Iterable[str]) -> tuple[str, ...]:
    """Normalise ``caps`` (e.g. 'net_raw', 'CAP_NET_RAW') and refuse dangerous ones."""
    names = tuple(sorted({c.upper().removeprefix("CAP_") for c in caps}))
    for name in names:
        if name in FORBIDDEN_CAPS or name not in ALLOWED_CAPS:
            raise ValueError("capability %s may not be given to containers" % name)
    return names


def limits_for(memory_mb: int, vcpus: int, pids_limit: int,
               caps: Iterable[str] = DEFAULT_CAPS) -> ContainerLimits:
    """The limits of a container for a flavor with ``memory_mb`` and ``vcpus``."""
    if memory_mb < 6 or vcpus < 1 or pids_limit < 1:
        raise ValueError("flavor too small for a container: %s MiB, %s vCPU, %s pids"
                         % (memory_mb, vcpus, pids_limit))
    return ContainerLimits(memory_bytes=memory_mb * MIB, nano_cpus=vcpus * NANO_CPUS_PER_VCPU,
                           pids_limit=pids_limit, cap_add=check_caps(caps))


def host_config_kwargs(limits: ContainerLimits) -> dict[str, Any]:
    """Keyword arguments for ``docker.types.HostConfig`` enforcing the rules above."""
    return {
        "network_mode": "none",
        "privileged": False,
        "cap_drop": ["ALL"],
        "cap_add": list(limits.cap_add),
        "security_opt": ["no-new-privileges"],
        "mem_limit": limits.memory_bytes,
        "memswap_limit": limits.memory_bytes,
        "nano_cpus": limits.nano_cpus,
        "pids_limit": limits.pids_limit,
        "restart_policy": {"Name": "no"},
        "sysctls": dict(SYSCTLS),
    }


def check_host_config(host_config: dict[str, Any]) -> dict[str, Any]:
    """Refuse a (rendered) HostConfig dict that breaks a rule; returns it unchanged."""
    if host_config.get("Privileged"):
        raise ValueError("privileged containers are refused")
    if "ALL" not in (host_config.get("CapDrop") or []):
        raise ValueError("containers must drop all capabilities")
    check_caps(host_config.get("CapAdd") or [])
    if "no-new-privileges" not in (host_config.get("SecurityOpt") or []):
        raise ValueError("containers must run with no-new-privileges")
    if host_config.get("Binds") or host_config.get("Mounts") or host_config.get("VolumesFrom"):
        raise ValueError("containers get no mounts (the Docker socket must never reach one)")
    if not host_config.get("Memory") or not host_config.get("PidsLimit"):
        raise ValueError("containers need a memory and a pids limit")
    return host_config
