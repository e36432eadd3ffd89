"""The box plan: who is who on the machine and who gets which share of it.

Pure data computed from hybridhost.conf and the machine's facts; the renderers turn it
into files and ``rules`` checks it. Nothing here does I/O except ``detect_machine``.
"""

import dataclasses
import glob
import os
import re
import shutil

import psutil

from hybridhost import conf as hh_conf
from hybridhost import exception


@dataclasses.dataclass(frozen=True)
class Capacity:
    vcpus: int
    memory_mb: int
    disk_gb: int

    def __add__(self, other):
        return Capacity(self.vcpus + other.vcpus, self.memory_mb + other.memory_mb,
                        self.disk_gb + other.disk_gb)

    def __sub__(self, other):
        return Capacity(self.vcpus - other.vcpus, self.memory_mb - other.memory_mb,
                        self.disk_gb - other.disk_gb)

    def fits_in(self, other):
        return (self.vcpus <= other.vcpus and self.memory_mb <= other.memory_mb
                and self.disk_gb <= other.disk_gb)


@dataclasses.dataclass(frozen=True)
class Side:
    """One nova-compute service of the box."""

    key: str                 # "docker" or "kvm"
    program: str             # supervisord program name
    host: str                # nova [DEFAULT] host
    nodename: str            # hypervisor nodename / placement provider name
    share: Capacity
    state_path: str
    instances_path: str
    lock_path: str
    log_file: str
    config_file: str         # absolute path of its rendered nova config


@dataclasses.dataclass(frozen=True)
class Agent:
    program: str
    host: str
    state_path: str
    lock_path: str
    log_file: str
    config_file: str


@dataclasses.dataclass(frozen=True)
class Plan:
    box: str
    machine: Capacity
    reserve: Capacity
    docker: Side
    kvm: Side
    agent: Agent
    config_dir: str
    bin_dir: str

    @property
    def sides(self):
        return (self.docker, self.kvm)


NUMA_MEMINFO = "/sys/devices/system/node/node*/meminfo"
_NUMA_MEMTOTAL = re.compile(r"MemTotal:\s+(\d+) kB")


def numa_memory_mb(pattern=NUMA_MEMINFO):
    """RAM as libvirt reports it (the sum of the NUMA cells), or None without NUMA info.

    It can be far less than /proc/meminfo's total (seen here: 10074 against 24105 MiB);
    the libvirt side's inventory is libvirt's figure, so the ledger must start from it.
    """
    total_kb = 0
    for path in glob.glob(pattern):
        with open(path) as handle:
            match = _NUMA_MEMTOTAL.search(handle.read())
        total_kb += int(match.group(1)) if match else 0
    return total_kb // 1024 or None


def detect_machine(state_root):
    """The machine's vCPUs, RAM and the disk under ``state_root`` (or its nearest parent)."""
    path = state_root
    while not os.path.exists(path):
        path = os.path.dirname(path) or "/"
    meminfo_mb = psutil.virtual_memory().total // (1024 * 1024)
    return Capacity(
        vcpus=psutil.cpu_count(logical=True) or 1,
        memory_mb=min(meminfo_mb, numa_memory_mb() or meminfo_mb),
        disk_gb=shutil.disk_usage(path).total // (1024 ** 3),
    )


def machine_capacity(conf, detected=None):
    """Configured totals, falling back per resource to what the machine reports."""
    host = conf.host
    need_detection = not (host.total_vcpus and host.total_memory_mb and host.total_disk_gb)
    if need_detection and detected is None:
        detected = detect_machine(conf.paths.state_root)
    return Capacity(
        vcpus=host.total_vcpus or detected.vcpus,
        memory_mb=host.total_memory_mb or detected.memory_mb,
        disk_gb=host.total_disk_gb or detected.disk_gb,
    )


def _split(free, docker_value, kvm_value):
    """Docker's and kvm's amounts of one resource: explicit values win, else halves."""
    if docker_value is None and kvm_value is None:
        docker_value = free // 2
    if docker_value is None:
        docker_value = max(free - kvm_value, 0)
    if kvm_value is None:
        kvm_value = max(free - docker_value, 0)
    return docker_value, kvm_value


def shares(conf, machine):
    host = conf.host
    reserve = Capacity(host.reserved_vcpus, host.reserved_memory_mb, host.reserved_disk_gb)
    free = machine - reserve
    if free.vcpus < 0 or free.memory_mb < 0 or free.disk_gb < 0:
        raise exception.RenderRuleBroken(
            rule="capacity",
            reason="the host reserve (%s) is larger than the machine (%s)." % (
                _describe(reserve), _describe(machine)),
            fix="lower [host] reserved_vcpus / reserved_memory_mb / reserved_disk_gb.")
    dv, kv = _split(free.vcpus, host.docker_vcpus, host.kvm_vcpus)
    dm, km = _split(free.memory_mb, host.docker_memory_mb, host.kvm_memory_mb)
    dd, kd = _split(free.disk_gb, host.docker_disk_gb, host.kvm_disk_gb)
    return reserve, Capacity(dv, dm, dd), Capacity(kv, km, kd)


def _describe(cap):
    return "%d vCPU, %d MiB RAM, %d GiB disk" % (cap.vcpus, cap.memory_mb, cap.disk_gb)


def build(conf, detected=None):
    """The plan for this configuration (``detected`` replaces the machine probe in tests)."""
    box = conf.host.name or hh_conf.machine_hostname()
    machine = machine_capacity(conf, detected)
    reserve, docker_share, kvm_share = shares(conf, machine)
    docker_host = conf.host.docker_compute_host or "%s-docker" % box
    kvm_host = conf.host.kvm_compute_host or "%s-kvm" % box
    paths = conf.paths
    config_dir = paths.config_dir

    def side(key, host, nodename, share):
        state = os.path.join(paths.state_root, "nova-%s" % key)
        return Side(
            key=key, program="nova-compute-%s" % key, host=host, nodename=nodename,
            share=share, state_path=state,
            instances_path=os.path.join(state, "instances"),
            lock_path=os.path.join(state, "locks"),
            log_file=os.path.join(paths.log_root, "nova-compute-%s.log" % key),
            config_file=os.path.join(config_dir, "conf", "nova-%s.conf" % key))

    agent_state = os.path.join(paths.state_root, "neutron")
    return Plan(
        box=box, machine=machine, reserve=reserve,
        docker=side("docker", docker_host, conf.host.docker_nodename or docker_host,
                    docker_share),
        kvm=side("kvm", kvm_host, conf.host.kvm_nodename or hh_conf.machine_hostname(),
                 kvm_share),
        agent=Agent(
            program="neutron-openvswitch-agent", host=kvm_host, state_path=agent_state,
            lock_path=os.path.join(agent_state, "locks"),
            log_file=os.path.join(paths.log_root, "neutron-openvswitch-agent.log"),
            config_file=os.path.join(config_dir, "conf", "neutron-openvswitch-agent.conf")),
        config_dir=config_dir,
        bin_dir=paths.bin_dir or hh_conf.default_bin_dir(),
    )
