"""The nova-computes' and the OVS agent's view of hybridhost.conf when the lab is on:
``[openstack]`` points at the lab's control plane."""

from hybridhost.render import control_plane


class _GroupView:
    """One option group with some values replaced."""

    def __init__(self, group, values):
        self._group, self._values = group, values

    def __getattr__(self, name):
        return self._values[name] if name in self._values else getattr(self._group, name)

    def __getitem__(self, name):
        return self.__getattr__(name)


class ConfView:
    """hybridhost.conf with ``[openstack]`` pointing at the lab.

    A view, not ``set_override``: oslo.config keeps overrides on the shared OptGroup
    objects, so they would leak into every other ConfigOpts of the process.
    """

    def __init__(self, conf, openstack_values):
        self._conf = conf
        self._openstack = _GroupView(conf.openstack, openstack_values)

    def __getattr__(self, name):
        return self._openstack if name == "openstack" else getattr(self._conf, name)

    def __getitem__(self, name):
        return self._openstack if name == "openstack" else self._conf[name]


def with_lab_openstack(conf, secrets):
    """The configuration the nova-computes and the OVS agent render from: the lab's."""
    return ConfView(conf, {
        "transport_url": control_plane.transport_url(conf, secrets),
        "amqp_durable_queues": control_plane.DURABLE_QUEUES,
        "auth_url": control_plane.auth_url(conf),
        "username": "nova",
        "password": secrets["nova"],
        "project_name": "service",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "interface": "internal",
    })
