"""Bring the box up and down under supervisord, and read its state."""

import dataclasses
import hashlib
import json
import logging
import os
import time

import psutil

from hybridhost import exception
from hybridhost import listeners
from hybridhost import render
from hybridhost import restarts
from hybridhost import runner
from hybridhost import supervisor_rpc
from hybridhost.render import control_plane
from hybridhost.render import files as rendered_files
from hybridhost.render import supervisor as supervisor_render
from hybridhost.render import systemd as systemd_unit
from hybridhost.virt.docker import engine as docker_engine

LOG = logging.getLogger(__name__)

OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
USERSPACE_TSO = "userspace-tso-enable"
# Program states from which supervisord will not move on its own (every program has
# autorestart, so EXITED and BACKOFF are on the way to a retry).
SETTLED = {"RUNNING", "FATAL", "STOPPED"}
#: Groups 'down' stops one after the other, before the rest: the watcher (it must not
#: take the others' stops for faults), the computes and the agent, the lab's services.
STOP_FIRST = (supervisor_render.WATCHER, supervisor_render.BOX_GROUP,
              control_plane.SERVICES_GROUP)
# A program SIGKILLed with its supervisord holds its port until the kernel has torn the
# process down (its memory first): 'up' right after such a kill waits this long.
TAKEN_PORT_GRACE_S = 5


def supervisord_conf(plan):
    return os.path.join(plan.config_dir, "conf", "supervisord.conf")


def client_for(conf, timeout=10):
    return supervisor_rpc.SupervisorClient(supervisor_render.socket_path(conf), timeout)


def patient_client(conf):
    """A client that waits as long as stopping a program may take."""
    return client_for(conf, timeout=conf.supervisor.stop_timeout + 30)


def render_to_disk(conf, out_dir=None):
    plan, files = render.render(conf)
    changed = rendered_files.write(files, out_dir or plan.config_dir)
    systemd_unit.install(conf, plan, out_dir)
    return plan, changed


#: Under [paths] state_root: the fingerprint of the hybridhost code the running
#: nova-compute-docker was started with.
CODE_STAMP = "code.sha256"


def code_fingerprint(roots=None):
    """sha256 over the installed hybridhost package and the nova driver shim (.py files)."""
    if roots is None:
        import hybridhost

        roots = [os.path.dirname(hybridhost.__file__)]
        shim = os.path.join(os.path.dirname(os.path.dirname(
            os.path.dirname(hybridhost.__file__))), "nova", "virt", "hybridhost_docker")
        if os.path.isdir(shim):
            roots.append(shim)
    digest = hashlib.sha256()
    for root in roots:
        for directory, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(n for n in names if n.endswith(".py")):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def restart_if_code_changed(conf, plan, restarted_groups=None, restarted_programs=()):
    """After an upgrade (tools/install.sh reinstalls hybridhost) the Docker side's
    nova-compute still runs the old driver, and the watcher the old watcher: restart
    each (nova-compute's privsep daemon goes with it) unless it or its group was just
    (re)started anyway; ``restarted_groups`` None means
    supervisord is only starting now. Returns the programs restarted; records the
    fingerprint either way."""
    stamp = os.path.join(conf.paths.state_root, CODE_STAMP)
    fingerprint = code_fingerprint()
    try:
        with open(stamp) as handle:
            previous = handle.read().strip()
    except FileNotFoundError:
        previous = None
    restarted = []
    if restarted_groups is not None and previous not in (None, fingerprint):
        for program in _running_our_code(conf, plan):
            if program.split(":")[0] in restarted_groups or program in restarted_programs:
                continue
            LOG.info("hybridhost's code changed since %s started; restarting it", program)
            patient_client(conf).restart(program)
            restarted.append(program)
    if previous != fingerprint:
        os.makedirs(conf.paths.state_root, exist_ok=True)
        with open(stamp, "w") as handle:
            handle.write(fingerprint + "\n")
    return restarted


def _running_our_code(conf, plan):
    """The programs that run hybridhost's own code: the Docker side's nova-compute, and
    the health watcher when supervisord has it."""
    programs = ["%s:%s" % (supervisor_render.BOX_GROUP, plan.docker.program)]
    watcher = "%s:%s" % (supervisor_render.WATCHER, supervisor_render.WATCHER)
    if conf.watcher.enabled and any(p.full_name == watcher
                                    for p in client_for(conf).programs()):
        programs.append(watcher)
    return programs


def prepare_ovsdb(db_file, datapath_type="netdev"):
    """Create (or upgrade) the OVS database file ovsdb-server will serve; ovsdb-server
    must not be running (the file is its)."""
    os.makedirs(os.path.dirname(db_file), exist_ok=True)
    state = "kept"
    if not os.path.exists(db_file):
        runner.run(["ovsdb-tool", "create", db_file, OVS_SCHEMA])
        runner.run(["ovsdb-tool", "transact", db_file,
                    '["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]'])
        state = "created"
    elif runner.run(["ovsdb-tool", "needs-conversion", db_file, OVS_SCHEMA]).strip() == "yes":
        runner.run(["ovsdb-tool", "convert", db_file, OVS_SCHEMA])
        state = "converted"
    if datapath_type == "netdev":
        _offer_userspace_tso(db_file)
    return state


def _offer_userspace_tso(db_file):
    """other_config:userspace-tso-enable=true unless the key is set already: without it,
    the userspace datapath forwards the partial checksums of packets from veths (every
    container's eth0, the DHCP and L3 agents' ports) and TCP never connects between them
    (ICMP does). ovs-vswitchd reads it only when it starts."""
    mutation = ["other_config", "insert", ["map", [[USERSPACE_TSO, "true"]]]]
    runner.run(["ovsdb-tool", "transact", db_file, json.dumps(
        ["Open_vSwitch", {"op": "mutate", "table": "Open_vSwitch", "where": [],
                          "mutations": [mutation]}])])


def prepare_directories(conf, plan):
    paths = [conf.paths.state_root, conf.paths.log_root, plan.agent.state_path,
             plan.agent.lock_path, conf.ovs.run_dir]
    for side in plan.sides:
        paths += [side.state_path, side.instances_path, side.lock_path]
    for path in paths:
        os.makedirs(path, exist_ok=True)
    os.makedirs(conf.paths.run_root, mode=0o700, exist_ok=True)
    os.chmod(conf.paths.run_root, 0o700)


def prepare(conf, plan):
    prepare_directories(conf, plan)
    if (conf.host.manage_services and "ovsdb-server" in conf.host.managed_services
            and not is_up(conf)):
        state = prepare_ovsdb(conf.ovs.db_file, conf.ovs.datapath_type)
        LOG.info("OVS database %(db)s %(state)s", {"db": conf.ovs.db_file, "state": state})


def is_up(conf):
    try:
        client_for(conf, timeout=3).state()
    except exception.SupervisorUnreachable:
        return False
    return True


def start_supervisord(conf, plan, foreground=False):
    argv = [os.path.join(plan.bin_dir, "supervisord"), "-c", supervisord_conf(plan)]
    if foreground:
        os.execv(argv[0], argv + ["-n"])
    # supervisord daemonizes; the parent returns once the child is forked.
    runner.run(argv)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if is_up(conf):
            return
        time.sleep(0.2)
    raise exception.StartTimeout(seconds=30, what="supervisord's control socket",
                                 log=os.path.join(conf.paths.log_root, "supervisord.log"))


@dataclasses.dataclass(frozen=True)
class UpResult:
    """What :func:`up` did. ``restarted_groups`` is None when supervisord started
    now, else the groups it (re)started for their changed sections; ``restarted``
    the programs restarted for a changed file they read or for new code."""

    plan: object
    changed_files: tuple
    restarted_groups: frozenset | None
    restarted: tuple


def up(conf, progress, foreground=False, start_stopped=True):
    """Render, prepare, then start supervisord, or bring the running one up to date:
    groups whose section changed are re-added, programs reading a changed file or
    running changed code restarted, and (``start_stopped``) stopped programs started.
    With ``foreground`` a starting supervisord replaces this process."""
    running = is_up(conf)
    if not running:
        refuse_taken_ports(conf)
    plan, changed = render_to_disk(conf)
    progress("rendered %s (%d file(s) changed)" % (plan.config_dir, len(changed)))
    prepare(conf, plan)
    if not running:
        _start(conf, plan, progress, foreground)
        return UpResult(plan, tuple(changed), None, ())
    groups = _reload(conf, progress)
    restarted = restarts.restart(
        patient_client(conf), restarts.changed_programs(plan.config_dir, changed, groups),
        progress, "their configuration changed")
    new_code = restart_if_code_changed(conf, plan, groups, restarted)
    if new_code:
        progress("restarted %s (hybridhost's code changed)" % ", ".join(new_code))
    if start_stopped:
        client_for(conf).start_all()
    return UpResult(plan, tuple(changed), groups, tuple(restarted + new_code))


def _start(conf, plan, progress, foreground):
    if foreground:
        progress.note("supervisord runs in the foreground; Ctrl-C stops the box.")
    restart_if_code_changed(conf, plan)  # records the code that starts now
    start_supervisord(conf, plan, foreground=foreground)
    progress("supervisord started (control socket %s)" % client_for(conf).url)


def refuse_taken_ports(conf, grace=None):
    """PortsTaken when a process holds a port the box's programs will listen on; only
    while supervisord is down (when up, its programs hold them)."""
    deadline = time.monotonic() + (TAKEN_PORT_GRACE_S if grace is None else grace)
    while (taken := listeners.strangers(conf)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if taken:
        raise exception.PortsTaken(
            taken="; ".join(str(holder) for holder in taken),
            pids=" ".join(sorted({str(h.pid) for h in taken if h.pid})) or "them")


def _reload(conf, progress):
    """Apply changed program sections; the groups supervisord (re)started. A changed
    group is stopped first, which may take as long as its slowest program's stop."""
    added, changed, removed = patient_client(conf).reload_config()
    progress("supervisord already running; groups added %s, changed %s, removed %s" % (
        added or "-", changed or "-", removed or "-"))
    return frozenset(added) | frozenset(changed)


def follow(conf, timeout, progress):
    """Wait until every program is RUNNING or has given up; a progress line for each
    change of state. Returns the programs."""

    def report(_elapsed, program):
        progress("%-45s %s" % (program.full_name, program.state))

    return wait_settled(client_for(conf), timeout, report, progress.started)


def wait_settled(client, timeout, report, start=None):
    """Wait until every program is RUNNING or has given up; report each change."""
    start = time.monotonic() if start is None else start
    seen = {}
    while True:
        programs = client.programs()
        for program in programs:
            if seen.get(program.full_name) != program.state:
                seen[program.full_name] = program.state
                report(time.monotonic() - start, program)
        if all(p.state in SETTLED for p in programs):
            return programs
        if time.monotonic() - start > timeout:
            return programs
        time.sleep(0.5)


def stop_docker_compute(conf, plan, client):
    """Stop nova-compute-docker before 'down' powers its containers off: it would see
    them die and record its instances as SHUTOFF, and at the next 'up' nova resumes
    (resume_guests_state_on_host_boot) only the instances it still believes running.
    Only when the box runs dockerd (else the containers keep running). True when it
    was running."""
    return _stop_compute(conf, client, "dockerd", plan.docker.program)


def stop_kvm_compute(conf, plan, client):
    """Stop nova-compute-kvm before the lab powers its guests off, for the reason above:
    its power-state sync would call the stop API on each and record it SHUTOFF. Only
    when the box runs libvirtd. True when it was running."""
    return _stop_compute(conf, client, "libvirtd", plan.kvm.program)


def _stop_compute(conf, client, hypervisor_daemon, program):
    if not (conf.host.manage_services and hypervisor_daemon in conf.host.managed_services):
        return False
    return client.ensure_stopped("%s:%s" % (supervisor_render.BOX_GROUP, program))


def stop_in_order(client):
    """Stop the groups of :data:`STOP_FIRST` one after the other, then everything else:
    the computes and the agent end with RabbitMQ, libvirtd and OVS still there (their
    graceful shutdown talks to them; stopped beside them, nova-compute-kvm outlived
    [supervisor] stop_timeout and was killed), and the APIs with their database."""
    present = {program.group for program in client.programs()}
    for group in STOP_FIRST:
        if group in present:
            client.stop_group(group, wait=True)
    client.stop_all()


def descendants(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def engine_for(conf, plan, timeout):
    """The Docker side's engine, limited to that side's containers."""
    return docker_engine.Engine.connect(conf.docker.url, conf.docker.min_api_version,
                                        plan.docker.host, timeout=timeout)


def stop_containers(conf, plan, timeout=10):
    """Power off the Docker side's containers while the box's dockerd still runs.

    dockerd runs with --live-restore, so stopping it leaves containers (and their
    containerd shims) running; 'down' means the whole box is off. nova's power-state
    sync notices them stopped when the box is up again. An engine that does not answer
    (gone, or wedged) is one warning and the box still goes down. Returns how many
    were stopped.
    """
    if not (conf.host.manage_services and "dockerd" in conf.host.managed_services):
        return 0
    stopped = 0
    try:
        engine = engine_for(conf, plan, timeout + 20)
        for info in engine.list_own():
            if info.running:
                stopped += _stop_container(engine, info.uuid, timeout)
    except exception.DockerUnavailable as err:
        LOG.warning("The Docker side's containers were not all stopped (%(stopped)d were; "
                    "dockerd may keep the others running): %(err)s",
                    {"stopped": stopped, "err": err})
    return stopped


def _stop_container(engine, uuid, timeout):
    """1 if the container of ``uuid`` was stopped, 0 (and a warning) if Docker refused."""
    LOG.info("Stopping container of instance %s", uuid)
    try:
        engine.stop(uuid, timeout)
    except (exception.DockerOperationFailed, exception.ContainerNotFound) as err:
        LOG.warning("Container of instance %(uuid)s not stopped: %(err)s",
                    {"uuid": uuid, "err": err})
        return 0
    return 1


def down(conf, plan, stop_timeout):
    """Stop the box's containers, every program and supervisord; kill whatever they
    left. Returns ``(containers stopped, leftover processes killed)``, or None when
    supervisord is not running."""
    client = client_for(conf, timeout=stop_timeout)
    try:
        pid = client.pid()
    except exception.SupervisorUnreachable:
        return None
    processes = [psutil.Process(pid)] + descendants(pid)
    stop_docker_compute(conf, plan, client)
    containers = stop_containers(conf, plan)
    stop_in_order(client)
    # Again: a program may have started helpers while stopping (privsep daemons).
    processes += [p for p in descendants(pid) if p not in processes]
    client.shutdown()
    psutil.wait_procs(processes[:1], timeout=stop_timeout)
    return containers, kill_leftovers(processes)


def kill_leftovers(processes):
    """Kill those of ``processes`` still running; the ones it killed. A process may end
    at any moment in between (a privsep daemon whose parent just went): that one is
    gone, not an error."""
    killed = []
    for process in processes:
        try:
            name = process.name()
            process.kill()
        except psutil.NoSuchProcess:
            continue
        LOG.warning("Killed leftover process %(pid)s (%(name)s)",
                    {"pid": process.pid, "name": name})
        killed.append(process)
    psutil.wait_procs(killed, timeout=5)
    return killed
