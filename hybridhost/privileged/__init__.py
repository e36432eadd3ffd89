"""hybridhost's privilege boundary (oslo.privsep).

Only modules below ``hybridhost.privileged`` run with raised capabilities, and every
entrypoint takes plain strings and ints, validates them and returns plain data.
Callers always ``import hybridhost.privileged.net`` so escalation is visible
(nova's N362 rule).

The daemon is started on first use. It runs ``[hybridhost_docker_privileged]
helper_command`` when set (e.g. ``/opt/hybridhost/venv/bin/privsep-helper --config-file
/etc/hybridhost/nova-docker.conf``), otherwise ``sudo privsep-helper``.

Capabilities, and why each is needed:

* ``CAP_NET_ADMIN``: create/delete veth pairs, set addresses, MTU and routes.
* ``CAP_SYS_ADMIN``: ``setns(2)`` into a container's network namespace.
* ``CAP_SYS_PTRACE``: open ``/proc/<pid>/ns/net`` of a container process. The kernel
  checks ptrace access for that, and a container's process holds capabilities the
  daemon lacks (and may run under the image's ``USER``), so without it even a root
  container is refused (EACCES).
"""

from oslo_privsep import capabilities as caps
from oslo_privsep import priv_context

net_admin = priv_context.PrivContext(
    "hybridhost.privileged",
    cfg_section="hybridhost_docker_privileged",
    pypath=__name__ + ".net_admin",
    capabilities=[caps.CAP_NET_ADMIN, caps.CAP_SYS_ADMIN, caps.CAP_SYS_PTRACE],
)
