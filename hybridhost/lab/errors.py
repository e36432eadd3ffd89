"""Errors of the lab (subclasses of the one hybridhost error tree)."""

from hybridhost import exception


class LabApiFailed(exception.HybridhostError):
    msg_fmt = ("The lab's %(service)s API failed while %(doing)s: %(reason)s. "
               "'hybridhost lab status' shows the programs; their logs are under "
               "[paths] log_root.")


class LabPackageMissing(exception.HybridhostError):
    msg_fmt = ("The lab's services need the Python package %(package)s (%(why)s), which "
               "%(python)s cannot import; run tools/install.sh (it installs the lab's "
               "pinned packages into the virtualenv).")


class PublicBridgeFailed(exception.HybridhostError):
    msg_fmt = ("The lab's external bridge %(bridge)s: %(reason)s. Floating IPs are not "
               "reachable from the box until 'hybridhost lab up' sets it up.")


def api_errors():
    """The exception classes of openstacksdk and keystoneauth (one adapter translates them)."""
    from keystoneauth1 import exceptions as ksa_exceptions
    from openstack import exceptions as sdk_exceptions

    return (ksa_exceptions.ClientException, sdk_exceptions.SDKException)
