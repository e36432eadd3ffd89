"""Preflight checks of the box; every failure names its fix."""

import dataclasses
import os
import shutil

from hybridhost import exception
from hybridhost import listeners
from hybridhost import readiness
from hybridhost import render
from hybridhost import supervisor_rpc
from hybridhost.render import files as rendered_files
from hybridhost.render import supervisor

MIN_FREE_DISK_GB = 5
_OK, _FAIL, _WARN = "ok", "FAIL", "warn"


@dataclasses.dataclass(frozen=True)
class Result:
    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def failed(self):
        return self.status == _FAIL


def _ok(name, detail):
    return Result(name, _OK, detail)


def _fail(name, detail, fix):
    return Result(name, _FAIL, detail, fix)


def _version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def check_render(conf):
    try:
        plan, files = render.render(conf)
    except exception.ConfigInvalid as err:
        return None, [_fail("configuration", str(err), "fix hybridhost.conf as the message says.")]
    results = [_ok("identities", "docker side %s (node %s), kvm side %s (node %s), agent host %s"
                   % (plan.docker.host, plan.docker.nodename, plan.kvm.host,
                      plan.kvm.nodename, plan.agent.host))]
    diffs = rendered_files.differences(files, plan.config_dir)
    if diffs:
        results.append(Result("rendered files", _WARN, "%d file(s) in %s differ from "
                              "hybridhost.conf" % (len(diffs), plan.config_dir),
                              "run 'hybridhost render' (or 'hybridhost up')."))
    else:
        results.append(_ok("rendered files", "up to date in %s" % plan.config_dir))
    return plan, results


def check_docker(conf):
    try:
        version = readiness.docker_version(conf.docker.url)
    except exception.DockerUnavailable as err:
        return _fail("docker", str(err), _start_fix(conf, "dockerd"))
    if _version_tuple(version) < _version_tuple(conf.docker.min_api_version):
        return _fail("docker", "API %s is older than the supported %s" % (
            version, conf.docker.min_api_version), "upgrade the Docker engine.")
    return _ok("docker", "engine at %s speaks API %s" % (conf.docker.url, version))


def _start_fix(conf, service):
    if conf.host.manage_services and service in conf.host.managed_services:
        return "start the box with 'hybridhost up' (it runs %s)." % service
    return "start %s, or set [host] manage_services = true to let hybridhost run it." % service


def check_ovs(conf):
    connection, wanted = conf.ovs.ovsdb_connection, conf.ovs.datapath_type
    try:
        present = readiness.bridges(connection)
    except exception.OvsdbUnavailable as err:
        return [_fail("ovsdb", str(err), _start_fix(conf, "ovsdb-server"))]
    results = [_ok("ovsdb", "%s answers (%d bridge(s))" % (connection, len(present)))]
    wrong = {name: dp or "system" for name, dp in present.items() if (dp or "system") != wanted}
    if wrong:
        results.append(_fail("bridge datapath", ", ".join(
            "%s is %s" % item for item in sorted(wrong.items())),
            "set datapath_type=%s on them (ovs-vsctl set bridge NAME datapath_type=%s) "
            "or delete them so the agent recreates them." % (wanted, wanted)))
    else:
        results.append(_ok("bridge datapath", "every bridge is %s" % wanted))
    if wanted == "system" and not os.path.isdir("/sys/module/openvswitch"):
        results.append(_fail("ovs datapath", "the openvswitch kernel module is not loaded",
                             "set [ovs] datapath_type = netdev (userspace)."))
    return results


def check_libvirt(conf):
    results = []
    reason = readiness.unix_socket(conf.libvirt.socket)
    if reason:
        results.append(_fail("libvirt", "libvirtd socket not reachable: " + reason,
                             _start_fix(conf, "libvirtd")))
    else:
        results.append(_ok("libvirt", "%s answers" % conf.libvirt.socket))
    if conf.libvirt.virt_type == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        results.append(_fail("virt_type", "virt_type=kvm but /dev/kvm is not usable here",
                             "set [libvirt] virt_type = qemu."))
    elif conf.libvirt.virt_type == "qemu" and not shutil.which("qemu-system-x86_64"):
        results.append(_fail("virt_type", "qemu-system-x86_64 is not installed",
                             "apt-get install qemu-system-x86."))
    else:
        results.append(_ok("virt_type", conf.libvirt.virt_type))
    if not shutil.which("qemu-img"):
        # nova's libvirt driver runs it on every image it caches: no VM boots without it.
        results.append(_fail("qemu-img", "qemu-img is not installed",
                             "apt-get install qemu-utils."))
    if conf.libvirt.force_config_drive and not shutil.which("genisoimage"):
        # nova builds each VM's config drive with it: every VM build would fail.
        results.append(_fail("config drive", "force_config_drive is on but genisoimage is "
                             "not installed", "apt-get install genisoimage, or set "
                             "[libvirt] force_config_drive = false."))
    return results


def check_binaries(conf, plan):
    needed = [os.path.join(plan.bin_dir, name) for name in
              ("nova-compute", supervisor.agent_command(conf.ovs), "privsep-helper",
               "hybridhost")]
    if conf.host.manage_services:
        needed += [os.path.join("/usr/sbin", name) for name in conf.host.managed_services]
    missing = [path for path in needed if not os.access(path, os.X_OK)]
    if missing:
        return _fail("binaries", "missing: " + ", ".join(missing),
                     "install the packages (see README.rst) or set [paths] bin_dir.")
    return _ok("binaries", "%d found" % len(needed))


def check_disk(conf):
    results = []
    for option in ("state_root", "log_root"):
        path = getattr(conf.paths, option)
        while not os.path.exists(path):
            path = os.path.dirname(path)
        free_gb = shutil.disk_usage(path).free / 1024 ** 3
        if free_gb < MIN_FREE_DISK_GB:
            results.append(_fail("disk %s" % option, "%.1f GiB free under %s" % (free_gb, path),
                                 "free at least %d GiB or move [paths] %s." % (
                                     MIN_FREE_DISK_GB, option)))
        else:
            results.append(_ok("disk %s" % option, "%.0f GiB free under %s" % (free_gb, path)))
    return results


def _supervisord_pid(conf):
    try:
        return supervisor_rpc.SupervisorClient(supervisor.socket_path(conf), 3).pid()
    except exception.SupervisorUnreachable:
        return None


def check_ports(conf):
    """The box's TCP ports are free, or held by its own supervisord's programs."""
    box_pid = _supervisord_pid(conf)
    taken = listeners.strangers(conf, box_pid)
    if taken and all(holder.pid is None for holder in taken) and os.geteuid() != 0:
        return Result("ports", _WARN, "%d port(s) held, by processes this user cannot "
                      "see" % len(taken), "run 'hybridhost doctor' as root to see who.")
    if taken:
        return _fail("ports", "; ".join(str(holder) for holder in taken),
                     "stop that process (often a program left by a killed supervisord), "
                     "or give the box another port in hybridhost.conf.")
    owner = "free" if box_pid is None else "free or held by supervisord %d" % box_pid
    return _ok("ports", "%d TCP port(s) %s" % (len(listeners.box_ports(conf)), owner))


def run(conf):
    plan, results = check_render(conf)
    if plan is not None:
        results.append(check_binaries(conf, plan))
    results.append(check_docker(conf))
    results.extend(check_ovs(conf))
    results.extend(check_libvirt(conf))
    results.extend(check_disk(conf))
    results.append(check_ports(conf))
    return results
