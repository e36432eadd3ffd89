"""Options hybridhost writes into nova-*.conf that nova's sample namespace omits.

nova-compute registers them at run time: the keystoneauth 'password' plugin options of
[glance]/[neutron]/[placement] and the privsep contexts' ``helper_command``. Listing them
under the ``hybridhost.nova_runtime`` namespace lets oslo-config-validator check every
line of the rendered files (see tests/unit/test_rendered_examples.py).
"""

from keystoneauth1 import loading as ks_loading
from oslo_privsep import priv_context

from hybridhost.render import nova as nova_render

_AUTH_GROUPS = ("glance", "neutron", "placement")
_PRIVSEP_GROUPS = nova_render.NOVA_PRIVSEP_SECTIONS


def list_opts():
    auth = (ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options("password"))
    return ([(group, auth) for group in _AUTH_GROUPS]
            + [(group, priv_context.OPTS) for group in _PRIVSEP_GROUPS])
