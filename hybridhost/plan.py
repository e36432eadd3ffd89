"""The box plan: who is who on the machine, who gets which share of it and what each
side offers placement.

Pure data computed from hybridhost.conf and the machine's facts; the renderers turn it
into files and ``rules`` checks it. Nothing here does I/O except the ``detect*``
functions, whose result ``build`` takes as ``detected``.
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

    def least(self, other):
        """The smaller of the two, resource by resource."""
        return Capacity(min(self.vcpus, other.vcpus), min(self.memory_mb, other.memory_mb),
                        min(self.disk_gb, other.disk_gb))

    def excess_over(self, other):
        """What this has beyond ``other``, resource by resource (never below 0)."""
        return self - self.least(other)

    def times(self, ratios):
        """What placement lets allocations add up to: each amount times its ratio."""
        return Capacity(int(self.vcpus * ratios.cpu), int(self.memory_mb * ratios.ram),
                        int(self.disk_gb * ratios.disk))


@dataclasses.dataclass(frozen=True)
class Ratios:
    """A side's allocation ratios (nova's cpu_/ram_/disk_allocation_ratio)."""

    cpu: float
    ram: float
    disk: float


@dataclasses.dataclass(frozen=True)
class Detected:
    """What the machine reports: the kernel's figures and libvirt's."""

    machine: Capacity
    libvirt: Capacity


@dataclasses.dataclass(frozen=True)
class Side:
    """One nova-compute service of the box."""

    key: str                 # "docker" or "kvm"
    program: str             # supervisord program name
    host: str                # nova [DEFAULT] host
    nodename: str            # hypervisor nodename / placement provider name
    share: Capacity          # its part of the machine (the ledger)
    offer: Capacity          # what placement sees: its driver's total minus reserved
    reserved: Capacity       # its nova.conf reserved_host_* (from its driver's total)
    ratios: Ratios
    state_path: str
    instances_path: str
    lock_path: str
    log_file: str
    config_file: str         # absolute path of its rendered nova config

    @property
    def holds(self):
        """What this side's allocations may add up to in placement."""
        return self.offer.times(self.ratios)


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
    libvirt: Capacity        # what nova's libvirt driver reports as its totals
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

    It can be far less than /proc/meminfo's total, and change while the machine runs
    (seen here: 5.2, then 7.3 GiB of 24 GiB, memory being hot-plugged).
    """
    total_kb = 0
    for path in glob.glob(pattern):
        with open(path) as handle:
            match = _NUMA_MEMTOTAL.search(handle.read())
        total_kb += int(match.group(1)) if match else 0
    return total_kb // 1024 or None


def detect_machine(state_root):
    """The kernel's vCPUs, RAM and the disk under ``state_root`` (or its nearest parent)."""
    path = state_root
    while not os.path.exists(path):
        path = os.path.dirname(path) or "/"
    return Capacity(
        vcpus=psutil.cpu_count(logical=True) or 1,
        memory_mb=psutil.virtual_memory().total // (1024 * 1024),
        disk_gb=shutil.disk_usage(path).total // (1024 ** 3),
    )


def detect(state_root):
    """The machine as the kernel and as libvirt report it.

    libvirt counts the same online CPUs and the same filesystem (nova's libvirt driver
    reads ``instances_path``, under ``state_root``), but RAM as its NUMA cells.
    """
    machine = detect_machine(state_root)
    libvirt = dataclasses.replace(machine, memory_mb=numa_memory_mb() or machine.memory_mb)
    return Detected(machine=machine, libvirt=libvirt)


def _fill(configured, found):
    return Capacity(configured.vcpus or found.vcpus, configured.memory_mb or found.memory_mb,
                    configured.disk_gb or found.disk_gb)


def totals(conf, detected=None):
    """``(machine, libvirt)``: the machine the ledger splits, and the totals nova's
    libvirt driver reports. A ``[host] total_*`` given stands for both; the rest is
    detected (``detected``, or the machine probed now)."""
    host = conf.host
    configured = Capacity(host.total_vcpus, host.total_memory_mb, host.total_disk_gb)
    if configured.vcpus and configured.memory_mb and configured.disk_gb:
        return configured, configured
    detected = detected or detect(conf.paths.state_root)
    return _fill(configured, detected.machine), _fill(configured, detected.libvirt)


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


def ratios(conf, key):
    """The ``[host] <key>_*_allocation_ratio`` of one side."""
    return Ratios(*(getattr(conf.host, "%s_%s_allocation_ratio" % (key, resource))
                    for resource in ("cpu", "ram", "disk")))


def docker_offer(share):
    """The Docker driver reports its share as its total and nova reserves nothing."""
    return share, Capacity(0, 0, 0)


def kvm_offer(share, libvirt):
    """``(offer, reserved)`` of the libvirt side, whose driver reports ``libvirt``.

    nova reserves what libvirt reports beyond the share, so placement sees
    min(share, libvirt): never more than the share, never a reservation larger than
    what libvirt reports, and when libvirt reports less than the share nothing rendered
    depends on libvirt's figure.
    """
    return share.least(libvirt), libvirt.excess_over(share)


def build(conf, detected=None):
    """The plan for this configuration (``detected`` replaces the machine probe in tests)."""
    box = conf.host.name or hh_conf.machine_hostname()
    machine, libvirt = totals(conf, detected)
    reserve, docker_share, kvm_share = shares(conf, machine)
    docker_host = conf.host.docker_compute_host or "%s-docker" % box
    kvm_host = conf.host.kvm_compute_host or "%s-kvm" % box
    paths = conf.paths
    agent_state = os.path.join(paths.state_root, "neutron")
    return Plan(
        box=box, machine=machine, libvirt=libvirt, reserve=reserve,
        docker=_side(conf, "docker", docker_host, conf.host.docker_nodename or docker_host,
                     docker_share, docker_offer(docker_share)),
        kvm=_side(conf, "kvm", kvm_host, conf.host.kvm_nodename or hh_conf.machine_hostname(),
                  kvm_share, kvm_offer(kvm_share, libvirt)),
        agent=Agent(
            program="neutron-openvswitch-agent", host=kvm_host, state_path=agent_state,
            lock_path=os.path.join(agent_state, "locks"),
            log_file=os.path.join(paths.log_root, "neutron-openvswitch-agent.log"),
            config_file=os.path.join(paths.config_dir, "conf",
                                     "neutron-openvswitch-agent.conf")),
        config_dir=paths.config_dir,
        bin_dir=paths.bin_dir or hh_conf.default_bin_dir(),
    )


def _side(conf, key, host, nodename, share, offer_and_reserved):
    paths = conf.paths
    state = os.path.join(paths.state_root, "nova-%s" % key)
    offer, reserved = offer_and_reserved
    return Side(
        key=key, program="nova-compute-%s" % key, host=host, nodename=nodename,
        share=share, offer=offer, reserved=reserved, ratios=ratios(conf, key),
        state_path=state, instances_path=os.path.join(state, "instances"),
        lock_path=os.path.join(state, "locks"),
        log_file=os.path.join(paths.log_root, "nova-compute-%s.log" % key),
        config_file=os.path.join(paths.config_dir, "conf", "nova-%s.conf" % key))
