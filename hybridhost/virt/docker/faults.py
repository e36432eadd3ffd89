"""What the Docker driver tells nova when it cannot or will not: each hybridhost error
turned, once, into the nova fault the user sees, and the operations it refuses."""

import contextlib
import functools
import logging

from nova import exception as nova_exception
from nova.network import model as network_model

from hybridhost import exception

LOG = logging.getLogger(__name__)

SUPPORTED_VIF_TYPES = (network_model.VIF_TYPE_OVS,)


class OperationNotSupported(nova_exception.NovaException):
    msg_fmt = "The Docker driver does not support %(operation)s (instance %(uuid)s)."


def _uuid_of(args, kwargs):
    for value in list(args) + list(kwargs.values()):
        if hasattr(value, "uuid"):
            return value.uuid
    return "-"


def unsupported(operation, wrap=None):
    """Refuse ``operation`` before anything is done, with a clear fault."""

    def decorator(func):
        @functools.wraps(func)
        def refuse(self, *args, **kwargs):
            uuid = _uuid_of(args, kwargs)
            LOG.warning("Refusing %(op)s for instance %(uuid)s", {"op": operation, "uuid": uuid})
            error = OperationNotSupported(operation=operation, uuid=uuid)
            raise wrap(error) if wrap else error
        return refuse
    return decorator


def precheck_error(error):
    return nova_exception.MigrationPreCheckError(reason=error.format_message())


@contextlib.contextmanager
def as_fault(fault_class, instance):
    """Turn a hybridhost error into the nova fault ``fault_class`` (the user sees why)."""
    try:
        yield
    except exception.VifPlugFailed as err:
        LOG.error("Instance %(uuid)s: %(err)s", {"uuid": instance.uuid, "err": err})
        raise nova_exception.VirtualInterfacePlugException(str(err)) from err
    except exception.HybridhostError as err:
        LOG.error("Instance %(uuid)s: %(err)s", {"uuid": instance.uuid, "err": err})
        raise fault_class(reason=str(err)) from err


def check_vif_types(network_info):
    """Only neutron OVS ports can be plugged; a failed binding is said so."""
    for vif in network_info or []:
        if vif.get("type") == network_model.VIF_TYPE_BINDING_FAILED:
            raise nova_exception.PortBindingFailed(port_id=vif["id"])
        if vif.get("type") not in SUPPORTED_VIF_TYPES:
            raise nova_exception.VirtualInterfacePlugException(
                "port %s has vif type %r; the Docker driver plugs only %s"
                % (vif["id"], vif.get("type"), ", ".join(SUPPORTED_VIF_TYPES)))


class RefusedOperations:
    """What the Docker driver refuses, before anything is done and with a clear fault
    (first among DockerDriver's bases: these override nova's ComputeDriver)."""

    def rebuild(self, context, instance, image_meta, injected_files, admin_password,
                allocations, bdms, detach_block_devices, attach_block_devices,
                network_info=None, evacuate=False, block_device_info=None,
                preserve_ephemeral=False, accel_uuids=None, reimage_boot_volume=False):
        if evacuate:
            raise OperationNotSupported(operation="evacuate", uuid=instance.uuid)
        raise NotImplementedError()  # nova's default rebuild: destroy + spawn, same host

    @unsupported("live migration", wrap=precheck_error)
    def check_can_live_migrate_destination(self, *args, **kwargs):
        pass

    @unsupported("live migration", wrap=precheck_error)
    def check_can_live_migrate_source(self, *args, **kwargs):
        pass

    @unsupported("live migration")
    def pre_live_migration(self, *args, **kwargs):
        pass

    @unsupported("live migration")
    def live_migration(self, *args, **kwargs):
        pass

    @unsupported("resize or cold migration", wrap=nova_exception.InstanceFaultRollback)
    def migrate_disk_and_power_off(self, *args, **kwargs):
        pass

    @unsupported("resize or cold migration")
    def finish_migration(self, *args, **kwargs):
        pass

    @unsupported("rescue")
    def rescue(self, *args, **kwargs):
        pass

    @unsupported("volume attach")
    def attach_volume(self, *args, **kwargs):
        pass

    @unsupported("volume swap")
    def swap_volume(self, *args, **kwargs):
        pass
