"""Every group in order: registration and the ``oslo.config.opts`` entry point."""

from hybridhost.conf import docker
from hybridhost.conf import host
from hybridhost.conf import lab
from hybridhost.conf import libvirt
from hybridhost.conf import openstack
from hybridhost.conf import ovs
from hybridhost.conf import paths
from hybridhost.conf import supervisor
from hybridhost.conf import watcher

GROUPS = (
    (host.host_group, host.host_opts),
    (paths.paths_group, paths.paths_opts),
    (supervisor.supervisor_group, supervisor.supervisor_opts),
    (docker.docker_group, docker.docker_opts),
    (libvirt.libvirt_group, libvirt.libvirt_opts),
    (ovs.ovs_group, ovs.ovs_opts),
    (openstack.openstack_group, openstack.openstack_opts),
    (lab.lab_group, lab.lab_opts),
    (watcher.watcher_group, watcher.watcher_opts),
)


def register_opts(conf):
    """Register every group of hybridhost.conf on ``conf``."""
    for group, opts in GROUPS:
        conf.register_group(group)
        conf.register_opts(opts, group=group)


def list_opts():
    """The ``oslo.config.opts`` entry point: ``[(group, opts)]`` in rendering order."""
    return [(group, opts) for group, opts in GROUPS]
