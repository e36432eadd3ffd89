"""The one error tree of hybridhost.

Every failure a user can meet is a ``HybridhostError`` whose message says what is
wrong and, where there is one, how to fix it. Foreign errors (XML-RPC faults, Docker
API errors, netlink errors, OVSDB timeouts) are translated once, in the adapter that
talks to that component, with ``raise ... from err``.
"""


class HybridhostError(Exception):
    """Base class: ``msg_fmt`` is filled from the keyword arguments."""

    msg_fmt = "An unknown hybridhost error occurred."
    #: The process exit code the command line uses for this error.
    exit_code = 1

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError, ValueError):
                # A template/argument mismatch is a programming error, but the user
                # must still see something useful rather than a second traceback.
                message = "%s (%r)" % (self.msg_fmt, kwargs)
        super().__init__(message)

    @property
    def message(self):
        return self.args[0]


class ConfigInvalid(HybridhostError):
    """hybridhost.conf (or the command line) is malformed or contradictory."""

    msg_fmt = "%(option)s: %(reason)s"
    exit_code = 2


class RenderRuleBroken(ConfigInvalid):
    """A rendered result would break one of the box's identity or capacity rules."""

    msg_fmt = "%(rule)s: %(reason)s Fix: %(fix)s"


class RenderedFilesDiffer(HybridhostError):
    msg_fmt = ("%(count)d rendered file(s) on disk differ from hybridhost.conf; "
               "run 'hybridhost render'.")


class NotRendered(HybridhostError):
    msg_fmt = ("No rendered supervisord configuration at %(path)s. "
               "Run 'hybridhost render' first (or check [paths] config_dir).")


class SupervisorUnreachable(HybridhostError):
    msg_fmt = ("supervisord is not answering on %(url)s: %(reason)s. "
               "Start the box with 'hybridhost up'.")


class SupervisorFault(HybridhostError):
    """supervisord answered a call with a fault; ``code`` is supervisor's
    ``supervisor.xmlrpc.Faults`` number, ``fault`` its name, ``target`` the program
    (``group:name``), group or thing the call was about."""

    msg_fmt = "supervisord refused to %(action)s %(target)s: %(fault)s%(detail)s"

    @property
    def code(self):
        return self.kwargs["code"]

    @property
    def fault(self):
        return self.kwargs["fault"]

    @property
    def target(self):
        return self.kwargs["target"]


class ProgramAlreadyStarted(SupervisorFault):
    """ALREADY_STARTED: the program is already STARTING, RUNNING or in BACKOFF."""


class ProgramAlreadyStopped(SupervisorFault):
    """NOT_RUNNING: the program is already STOPPED, EXITED or FATAL."""


class ProgramNotRunning(HybridhostError):
    msg_fmt = "%(program)s is %(state)s, not RUNNING"


class PortsTaken(HybridhostError):
    msg_fmt = ("Not starting supervisord: %(taken)s. Nothing of this box runs yet, so "
               "these are other processes (often a box's programs left running after its "
               "supervisord was killed): stop them (kill %(pids)s), or give the box other "
               "ports in hybridhost.conf.")


class StartTimeout(HybridhostError):
    msg_fmt = ("Timed out after %(seconds)ss waiting for %(what)s. "
               "Look at %(log)s for the reason.")


class DependencyNotReady(HybridhostError):
    msg_fmt = "%(need)s is not ready after %(seconds)ss: %(reason)s"


class DockerUnavailable(HybridhostError):
    msg_fmt = "The Docker engine at %(url)s is not usable: %(reason)s"


class OvsdbUnavailable(HybridhostError):
    msg_fmt = "OVSDB at %(connection)s is not usable: %(reason)s"


class BridgeMissing(HybridhostError):
    msg_fmt = "Open vSwitch bridge %(bridge)s does not exist"


class LibvirtUnavailable(HybridhostError):
    msg_fmt = "libvirt at %(uri)s is not usable: %(reason)s"


class CommandFailed(HybridhostError):
    msg_fmt = "%(command)s failed (exit %(code)s): %(output)s"


class CommandNotFound(HybridhostError):
    msg_fmt = "%(command)s is not installed (%(reason)s); run tools/install.sh"


class CommandTimedOut(HybridhostError):
    msg_fmt = "%(command)s did not finish within %(seconds)ss"


# --- The Docker virt driver (hybridhost.virt.docker) -------------------------------


class ContainerNotFound(HybridhostError):
    msg_fmt = "No container of this service for instance %(uuid)s"


class DockerOperationFailed(HybridhostError):
    msg_fmt = "Docker refused to %(operation)s %(target)s: %(reason)s"


class ImageInvalid(HybridhostError):
    msg_fmt = "Image %(image_id)s cannot be used as a container image: %(reason)s"


class ImageTooLarge(ImageInvalid):
    msg_fmt = ("Image %(image_id)s is too large: %(size)s bytes %(what)s, the limit is "
               "%(limit)d bytes (%(source)s)")


class ImageNotFound(HybridhostError):
    msg_fmt = "Image %(ref)s is not on the Docker engine"


class VifPlugFailed(HybridhostError):
    msg_fmt = "Could not plug port %(port_id)s into container %(uuid)s: %(reason)s"


class VifUnplugFailed(HybridhostError):
    msg_fmt = "Could not unplug port %(port_id)s: %(reason)s"


class VifSpecCorrupt(HybridhostError):
    """The saved VIFs of an instance cannot be read; nova's next plug_vifs (at
    nova-compute's start, a power on or a reboot) writes them again from neutron."""

    msg_fmt = ("The saved VIFs of instance %(uuid)s (%(path)s) cannot be read: %(reason)s. "
               "Restart nova-compute-docker or reboot the instance to write them again.")


class ImageHasNoCommand(HybridhostError):
    msg_fmt = ("Image %(image_id)s has no command to run: it sets neither CMD nor ENTRYPOINT. "
               "Set the image property os_command_line (e.g. 'sleep infinity') or rebuild "
               "the image with a CMD.")


class VifRepairRefused(HybridhostError):
    """``hybridhost vifs --repair`` found, at the last moment, that a port is not its to fix."""

    msg_fmt = "Not repairing %(port)s: %(reason)s"


class OvsdbOperationFailed(HybridhostError):
    msg_fmt = "OVSDB refused to %(operation)s %(target)s: %(reason)s"


class UnsafeContainerConfig(HybridhostError):
    msg_fmt = "Refusing to create the container of instance %(uuid)s: %(reason)s"


class GuestFilesRefused(HybridhostError):
    msg_fmt = "Cannot put the keypair or config drive into instance %(uuid)s: %(reason)s"


class ServerNotFound(HybridhostError):
    msg_fmt = ("No container of %(host)s is server %(server)s (a server UUID, name or "
               "hostname; 'openstack server list' shows them)")


class ServerAmbiguous(HybridhostError):
    msg_fmt = "%(server)s names several containers (%(uuids)s): give the server's UUID"


class ContainerNotRunning(HybridhostError):
    msg_fmt = ("The container of server %(server)s is %(status)s, not running "
               "('openstack server start %(server)s')")
    exit_code = 3


class NeedsRoot(HybridhostError):
    msg_fmt = "%(command)s needs root: %(reason)s"


class PlacementUnavailable(HybridhostError):
    """placement could not be read: the ledger shows the plan's side only."""

    msg_fmt = "placement cannot be read: %(reason)s"


# --- Lab artifacts and targeting (hybridhost.lab.guest, .container_image, .targeting) ---


class LabBuildFailed(HybridhostError):
    msg_fmt = "Could not build the lab %(artifact)s: %(reason)s"


class CloudUnavailable(HybridhostError):
    msg_fmt = "Cannot use cloud %(cloud)s: %(reason)s"
    exit_code = 2


class TargetingInvalid(HybridhostError):
    msg_fmt = "%(what)s: %(reason)s"
    exit_code = 2


class TargetingFailed(HybridhostError):
    msg_fmt = "Could not %(action)s %(target)s: %(reason)s"
