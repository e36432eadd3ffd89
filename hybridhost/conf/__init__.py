"""hybridhost.conf: the one configuration every other file is rendered from.

Groups, one module each as in nova's ``nova/conf/``: ``[host]`` (the box, its two
compute services and the capacity split), ``[paths]``, ``[supervisor]``, ``[docker]``,
``[libvirt]``, ``[ovs]``, ``[openstack]`` (the control plane both computes and the
agent talk to), ``[lab]`` (the control plane ``hybridhost lab up`` runs on the box
instead) and ``[watcher]`` (the health watcher). ``opts.list_opts()`` is the
``oslo.config.opts`` entry point; this package re-exports every public name, so
``from hybridhost import conf`` is all callers need.
"""

from hybridhost.conf.docker import docker_group
from hybridhost.conf.docker import docker_opts
from hybridhost.conf.host import HOST_SERVICES
from hybridhost.conf.host import host_group
from hybridhost.conf.host import host_opts
from hybridhost.conf.host import machine_hostname
from hybridhost.conf.lab import check_lab
from hybridhost.conf.lab import lab_group
from hybridhost.conf.lab import lab_opts
from hybridhost.conf.lab import lab_ports
from hybridhost.conf.lab import lab_public_network
from hybridhost.conf.lab import lab_tenant_network
from hybridhost.conf.libvirt import libvirt_group
from hybridhost.conf.libvirt import libvirt_opts
from hybridhost.conf.loading import DEFAULT_CONFIG_FILE
from hybridhost.conf.loading import load
from hybridhost.conf.openstack import openstack_group
from hybridhost.conf.openstack import openstack_opts
from hybridhost.conf.opts import list_opts
from hybridhost.conf.opts import register_opts
from hybridhost.conf.ovs import ovs_group
from hybridhost.conf.ovs import ovs_opts
from hybridhost.conf.paths import default_bin_dir
from hybridhost.conf.paths import paths_group
from hybridhost.conf.paths import paths_opts
from hybridhost.conf.supervisor import supervisor_group
from hybridhost.conf.supervisor import supervisor_opts
from hybridhost.conf.watcher import watcher_group
from hybridhost.conf.watcher import watcher_opts

__all__ = [
    "DEFAULT_CONFIG_FILE", "HOST_SERVICES", "check_lab", "default_bin_dir", "docker_group",
    "docker_opts", "host_group", "host_opts", "lab_group", "lab_opts", "lab_ports",
    "lab_public_network", "lab_tenant_network", "libvirt_group", "libvirt_opts", "list_opts",
    "load", "machine_hostname", "openstack_group", "openstack_opts", "ovs_group", "ovs_opts",
    "paths_group", "paths_opts", "register_opts", "supervisor_group", "supervisor_opts",
    "watcher_group", "watcher_opts",
]
