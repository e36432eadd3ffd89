"""``hybridhost-watcher --slow-checks``: one run of the watcher's slower checks, as its
child process (hybridhost/watcher/slow.py says why a child).

Reads ``{"seen": [...]}`` (what the last VIF check found to repair) on stdin and writes
one JSON object on stdout: ``vifs`` (the integration bridge: its one-line problem or
null, what it would repair next time, the metrics' figures), ``instances`` (per side:
the Docker side's containers, libvirt's domains) and ``ledger`` (the capacity ledger as
'hybridhost status --json' has it, when [watcher] box_config names hybridhost.conf).
A part that cannot be read says why in its place; the others are still answered.
"""

import json
import logging
import os
import sys

LOG = logging.getLogger(__name__)


def _vifs(topology, seen):
    from hybridhost.bridge_ports import sources
    from hybridhost.cmd import vifs as vifs_cmd
    from hybridhost.watcher import vifs

    found = dict(topology.vifs)
    vifs_cmd.use_privsep_helper(found.pop("bin_dir"), found.pop("helper_config"))
    figures = {}
    check = vifs.VifCheck(lambda: sources.LiveBox.connect(sources.Settings(**found)),
                          repair_them=topology.settings.vif_repair,
                          observe=figures.update, seen=seen)
    try:
        reason = check()
    except Exception as err:  # noqa: BLE001 - the part says why, the others go on
        LOG.warning("vifs: the check failed: %s", err, exc_info=True)
        return {"error": "the check failed: %s: %s" % (type(err).__name__, err)}
    return {"reason": reason, "problems": check.problems, "seen": check.seen,
            "figures": figures}


def _libvirt_domains(uri):
    import libvirt

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        connection = libvirt.openReadOnly(uri)
        try:
            return len(connection.listAllDomains(0))
        finally:
            connection.close()
    except libvirt.libvirtError as err:
        return "libvirt: %s" % (err.get_error_message() or err)


def _instances(topology, vifs):
    found = {}
    figures = (vifs or {}).get("figures")
    if figures is not None:
        found["docker"] = sum(figures["containers"].values())
    uris = [s.target for s in topology.services if s.kind == "libvirt"]
    if uris:
        found["kvm"] = _libvirt_domains(uris[0])
    return found


def _ledger(box_config):
    from hybridhost import conf as hh_conf
    from hybridhost import exception
    from hybridhost.cmd import box as box_cmd

    try:
        conf = hh_conf.load(["--config-file", box_config], default_config_files=[])
        return box_cmd.ledger_data(conf)
    except exception.HybridhostError as err:
        return {"placement": "unknown", "error": str(err)}


def run(topology, seen):
    found = {}
    if topology.vifs and topology.settings.vif_interval:
        found["vifs"] = _vifs(topology, seen)
    found["instances"] = _instances(topology, found.get("vifs"))
    if topology.settings.box_config and os.path.exists(topology.settings.box_config):
        found["ledger"] = _ledger(topology.settings.box_config)
    return found


def main(topology):
    """The child's run: request on stdin, answer on stdout; 0, or 1 on a bad request."""
    try:
        request = json.load(sys.stdin)
        seen = [list(item) for item in request.get("seen", [])]
    except (ValueError, AttributeError, TypeError) as err:
        print("hybridhost-watcher --slow-checks: a bad request: %s" % err, file=sys.stderr)
        return 1
    json.dump(run(topology, seen), sys.stdout)
    sys.stdout.flush()
    return 0
