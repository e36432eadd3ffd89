"""hybridhost's privilege boundary (oslo.privsep).

Only modules below ``hybridhost.privileged`` run with raised capabilities, and every
entrypoint takes plain strings and ints, validates them and returns plain data.
Callers always ``import hybridhost.privileged.net`` so escalation is visible
(nova's N362 rule).

The daemon is started on first use. It runs ``[hybridhost_docker_privileged]
helper_command`` when set (e.g. ``/opt/hybridhost/venv/bin/privsep-helper --config-file
/etc/hybridhost/nova-docker.conf``), otherwise ``sudo privsep-helper``. It reads
``[hybridhost_docker] vif_prefix`` from the configuration files it is given: the
entrypoints touch only host links with that prefix (:data:`VIF_PREFIX_OPT`).

Capabilities, and why each is needed:

* ``CAP_NET_ADMIN``: create/delete veth pairs, set addresses, MTU and routes.
* ``CAP_SYS_ADMIN``: ``setns(2)`` into a container's network namespace.

A container's namespace is opened through the file Docker bind-mounts for it (its
sandbox, ``<exec-root>/netns/<id>``), not ``/proc/<pid>/ns/net``: the kernel checks
ptrace access only for the latter, so ``CAP_SYS_PTRACE`` is not needed.
"""

from oslo_config import cfg
from oslo_privsep import capabilities as caps
from oslo_privsep import priv_context

from hybridhost import linknames

VIF_GROUP = "hybridhost_docker"
VIF_PREFIX_OPT = cfg.Opt(
    "vif_prefix", type=linknames.VifPrefix(), default="hhd",
    help="Name prefix of the host end of container veths: 2-4 lower-case letters. The "
         "privileged helper touches only veths whose name starts with it. 'tap' "
         "(libvirt's and neutron's) and any prefix of another program's links (qvo, qvb, "
         "qr-, qg-, br, veth, eth, ...) are refused.")


def vif_prefix(conf: cfg.ConfigOpts = cfg.CONF) -> str:
    """``[hybridhost_docker] vif_prefix`` as ``conf`` (the daemon's: its --config-file) says."""
    conf.register_opt(VIF_PREFIX_OPT, group=VIF_GROUP)
    prefix: str = conf[VIF_GROUP].vif_prefix
    return prefix


CAPABILITIES = (caps.CAP_NET_ADMIN, caps.CAP_SYS_ADMIN)

net_admin = priv_context.PrivContext(
    "hybridhost.privileged",
    cfg_section="hybridhost_docker_privileged",
    pypath=__name__ + ".net_admin",
    capabilities=list(CAPABILITIES),
)
