"""Names of network links: which VIF prefixes could name another program's links.

Below every other layer, so that both the box's configuration (``[ovs] vif_prefix``)
and the privileged helper (``[hybridhost_docker] vif_prefix``) refuse the same prefixes.
"""

from oslo_config import types

#: Name prefixes of links other software makes on a host like this one (libvirt and
#: neutron's tap/qvo/qvb/qbr/qr-/qg-/ha-/sg-, bridges, OVS internals, Docker's own
#: veths, physical NICs). A VIF prefix may neither begin one of them nor begin with one.
RESERVED_PREFIXES = ("tap", "qvo", "qvb", "qbr", "qvm", "qr-", "qg-", "qm-", "ha-", "sg-",
                     "fg-", "rfp-", "fpr-", "o-hm", "br", "int-", "phy-", "patch", "ovs",
                     "vxlan", "genev", "gre", "veth", "docker", "virbr", "vnet", "macvtap",
                     "eth", "en", "wl", "ww", "lo", "bond", "team", "tun", "ifb", "dummy")


def check_vif_prefix(prefix):
    """Refuse a prefix that could name another program's links; returns it."""
    for reserved in RESERVED_PREFIXES:
        if reserved.startswith(prefix) or prefix.startswith(reserved):
            raise ValueError("VIF prefix %r could name other links (%r*, e.g. libvirt's and "
                             "neutron's); choose another" % (prefix, reserved))
    return prefix


class VifPrefix(types.String):
    """2-4 lower-case letters, not one of :data:`RESERVED_PREFIXES` (nor a prefix of one)."""

    def __init__(self):
        super().__init__(regex=r"^[a-z]{2,4}$", type_name="VIF prefix")

    def __call__(self, value):
        return check_vif_prefix(super().__call__(value))
