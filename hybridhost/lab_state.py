"""The lab's state directory and its generated secrets.

``secrets.json`` (mode 0600) is written once by the first ``hybridhost lab up`` and
read by every later render; ``hybridhost lab purge`` removes the whole directory.
"""

import dataclasses
import json
import logging
import os
import secrets as random_secrets
import shutil

from hybridhost import exception

LOG = logging.getLogger(__name__)

SECRETS_FILE = "secrets.json"
# One password per account: the keystone admin, MariaDB's root, each service's
# database user and keystone user, and RabbitMQ's one user.
ACCOUNTS = ("admin", "mysql_root", "rabbit", "keystone_db", "placement_db", "glance_db",
            "nova_db", "neutron_db", "nova", "neutron", "glance", "placement")
SERVICE_USERS = ("nova", "neutron", "glance", "placement")
RABBIT_USER = "openstack"
# Traversable but not listable: dnsmasq drops to 'nobody' and must still read its
# hosts file under neutron-dhcp/; the secret files themselves are 0600.
ROOT_MODE = 0o711


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where each stateful part of the lab lives (under ``[lab] state_dir``)."""

    root: str

    def path(self, *parts):
        """A path under the state directory (mysql, rabbitmq, keystone, ...)."""
        return os.path.join(self.root, *parts)

    @property
    def secrets_file(self):
        return os.path.join(self.root, SECRETS_FILE)

    @property
    def openrc(self):
        return os.path.join(self.root, "openrc")

    @property
    def clouds_yaml(self):
        return os.path.join(self.root, "clouds.yaml")

    @property
    def stamps(self):
        return os.path.join(self.root, "stamps")


def state_dir(conf):
    return conf.lab.state_dir or os.path.join(conf.paths.state_root, "lab")


def layout(conf):
    return Layout(state_dir(conf))


def exists(conf):
    """True once ``lab up`` created the lab (and until ``lab purge``)."""
    return os.path.exists(layout(conf).secrets_file)


def enabled(conf):
    """Only the configuration decides: rendering must not depend on what is on disk."""
    return bool(conf.lab.enabled)


def load_secrets(conf):
    path = layout(conf).secrets_file
    try:
        with open(path) as handle:
            data = json.load(handle)
    except FileNotFoundError as err:
        raise exception.ConfigInvalid(
            option="[lab] enabled",
            reason="the lab has no secrets yet (%s); run 'hybridhost lab up' to create "
                   "them." % path) from err
    except (OSError, ValueError) as err:
        raise exception.ConfigInvalid(
            option="[lab] state_dir",
            reason="cannot read %s: %s. Fix or remove it ('hybridhost lab purge' "
                   "starts the lab afresh)." % (path, err)) from err
    missing = [name for name in ACCOUNTS if not data.get(name)]
    if missing:
        raise exception.ConfigInvalid(
            option="[lab] state_dir",
            reason="%s lacks password(s) for %s; 'hybridhost lab purge' starts the lab "
                   "afresh." % (path, ", ".join(missing)))
    return data


def write_private(path, text):
    """Write ``text`` to ``path`` atomically with mode 0600; True if it changed."""
    try:
        with open(path) as handle:
            if handle.read() == text:
                os.chmod(path, 0o600)
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.tmp" % path
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return True


def ensure_secrets(conf):
    """Generate the lab's passwords once; returns ``(secrets, created)``."""
    lay = layout(conf)
    if os.path.exists(lay.secrets_file):
        return load_secrets(conf), False
    os.makedirs(lay.root, mode=ROOT_MODE, exist_ok=True)
    os.chmod(lay.root, ROOT_MODE)
    # Hex only: the passwords go into URLs (DB connections, transport_url) unquoted.
    data = {name: random_secrets.token_hex(16) for name in ACCOUNTS}
    write_private(lay.secrets_file, json.dumps(data, indent=2, sort_keys=True) + "\n")
    LOG.info("Generated the lab's passwords into %s", lay.secrets_file)
    return data, True


def stamp_done(conf, step, fingerprint):
    lay = layout(conf)
    os.makedirs(lay.stamps, exist_ok=True)
    write_private(os.path.join(lay.stamps, step), fingerprint + "\n")


def stamp_matches(conf, step, fingerprint):
    try:
        with open(os.path.join(layout(conf).stamps, step)) as handle:
            return handle.read().strip() == fingerprint
    except FileNotFoundError:
        return False


def purge(conf):
    """Remove the lab's state directory; returns the paths removed."""
    removed = []
    root = layout(conf).root
    if os.path.isdir(root):
        shutil.rmtree(root)
        removed.append(root)
    rendered = os.path.join(conf.paths.config_dir, "conf", "lab")
    if os.path.isdir(rendered):
        shutil.rmtree(rendered)
        removed.append(rendered)
    program_file = os.path.join(conf.paths.config_dir, "supervisord.d", "control-plane.conf")
    if os.path.exists(program_file):
        os.unlink(program_file)
        removed.append(program_file)
    return removed
