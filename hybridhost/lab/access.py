"""openrc and clouds.yaml for the lab's admin (mode 0600, in the lab's state directory)."""

import shlex

from hybridhost import lab_state
from hybridhost.render import control_plane

CLOUD_NAME = "hybridhost-lab"


def _admin(conf, secrets):
    return {
        "OS_AUTH_URL": control_plane.auth_url(conf),
        "OS_USERNAME": "admin",
        "OS_PASSWORD": secrets["admin"],
        "OS_PROJECT_NAME": "admin",
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_REGION_NAME": conf.openstack.region_name,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_INTERFACE": "public",
    }


def render_openrc(conf, secrets):
    lines = ["# hybridhost lab admin credentials: . %s" % lab_state.layout(conf).openrc]
    lines += ["export %s=%s" % (key, shlex.quote(value))
              for key, value in _admin(conf, secrets).items()]
    return "\n".join(lines) + "\n"


def render_clouds_yaml(conf, secrets):
    admin = _admin(conf, secrets)
    return (
        "# hybridhost lab: export OS_CLIENT_CONFIG_FILE=%(path)s OS_CLOUD=%(cloud)s\n"
        "clouds:\n"
        "  %(cloud)s:\n"
        "    auth:\n"
        "      auth_url: %(OS_AUTH_URL)s\n"
        "      username: admin\n"
        "      password: '%(OS_PASSWORD)s'\n"
        "      project_name: admin\n"
        "      user_domain_name: Default\n"
        "      project_domain_name: Default\n"
        "    region_name: %(OS_REGION_NAME)s\n"
        "    interface: public\n"
        "    identity_api_version: 3\n"
    ) % dict(admin, path=lab_state.layout(conf).clouds_yaml, cloud=CLOUD_NAME)


def write(conf, secrets):
    """Write both files (0600); returns the paths that changed."""
    lay = lab_state.layout(conf)
    changed = []
    for path, text in ((lay.openrc, render_openrc(conf, secrets)),
                       (lay.clouds_yaml, render_clouds_yaml(conf, secrets))):
        if lab_state.write_private(path, text):
            changed.append(path)
    return changed
