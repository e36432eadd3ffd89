"""What the watcher watches, read from conf/watcher.conf (see render/watcher.py)."""

import configparser
import dataclasses

from hybridhost import exception

_INTS = ("check_interval", "probe_timeout", "hang_timeout", "rpc_timeout",
         "rpc_hang_timeout", "max_repairs", "repair_backoff", "reset_after",
         "supervisor_timeout", "vif_interval")
VIF_KEYS = ("bridge", "owner", "prefix", "ovsdb_connection", "docker_url",
            "docker_api_version", "instances_path", "bin_dir", "helper_config")
SERVICE_KINDS = ("ovsdb", "unixctl", "docker", "libvirt")


@dataclasses.dataclass(frozen=True)
class Settings:
    check_interval: int = 5
    probe_timeout: int = 3
    hang_timeout: int = 5
    rpc_timeout: int = 5
    rpc_hang_timeout: int = 90
    max_repairs: int = 3
    repair_backoff: int = 10
    reset_after: int = 300
    vif_interval: int = 0
    vif_repair: bool = True
    supervisor_timeout: int = 60
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    log_file: str | None = None
    state_file: str = "/run/hybridhost/hybridhost-watcher.json"
    supervisor_socket: str = "/run/hybridhost/supervisor.sock"
    transport_url: str | None = None
    #: hybridhost.conf, for the capacity ledger the slow checks read (none when absent).
    box_config: str | None = "/etc/hybridhost/hybridhost.conf"


@dataclasses.dataclass(frozen=True)
class Program:
    """A supervisord program ('group:name') with what it needs and its RPC server."""

    name: str
    needs: tuple[str, ...] = ()
    rpc_topic: str | None = None
    rpc_server: str | None = None
    rpc_exchange: str | None = None


@dataclasses.dataclass(frozen=True)
class Service:
    """A daemon whose API is probed; ``program`` runs it when supervisord does."""

    name: str
    kind: str
    target: str
    program: str | None = None


@dataclasses.dataclass(frozen=True)
class Topology:
    settings: Settings
    programs: dict[str, Program]
    services: tuple[Service, ...]
    vifs: dict[str, str] | None = None

    def program(self, name):
        """What is known of ``name``; a program not in the file is watched alone."""
        return self.programs.get(name) or Program(name)

    def start_order(self, programs):
        """``programs`` (anything with ``full_name``) with what each needs before it;
        otherwise in the order given."""
        depth = {}

        def depth_of(name, seen=()):
            if name not in depth:
                needs = [n for n in self.program(name).needs if n not in seen]
                depth[name] = 1 + max((depth_of(n, seen + (name,)) for n in needs),
                                      default=-1)
            return depth[name]

        return sorted(programs, key=lambda p: depth_of(p.full_name))

    def dependents(self, name):
        """The programs that need ``name``, directly or through another."""
        found, todo = [], [name]
        while todo:
            current = todo.pop(0)
            for program in self.programs.values():
                if current in program.needs and program.name not in found:
                    found.append(program.name)
                    todo.append(program.name)
        return found


def _settings(section):
    values = {}
    for key, text in section.items():
        if key not in {f.name for f in dataclasses.fields(Settings)}:
            raise ValueError("unknown option %s" % key)
        if key == "vif_repair":
            values[key] = text.strip().lower() == "true"
        else:
            values[key] = int(text) if key in _INTS or key == "metrics_port" else text
    return Settings(**values)


def _split(text):
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


def _parse(parser):
    settings = _settings(parser["watcher"]) if parser.has_section("watcher") else Settings()
    programs, services = {}, []
    for section in parser.sections():
        kind, _, name = section.partition(":")
        items = parser[section]
        if kind == "program":
            programs[name] = Program(name, _split(items.get("needs")),
                                     items.get("rpc_topic"), items.get("rpc_server"),
                                     items.get("rpc_exchange"))
        elif kind == "service":
            if items["kind"] not in SERVICE_KINDS:
                raise ValueError("[%s] kind must be one of %s" % (
                    section, ", ".join(SERVICE_KINDS)))
            services.append(Service(name, items["kind"], items["target"],
                                    items.get("program")))
        elif section not in ("watcher", "vifs"):
            raise ValueError("unknown section [%s]" % section)
    vifs = ({key: parser["vifs"][key] for key in VIF_KEYS} if parser.has_section("vifs")
            else None)
    return Topology(settings, programs, tuple(services), vifs)


def load(path):
    """The topology in ``path``; ConfigInvalid naming the file when it is unusable."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path) as handle:
            parser.read_file(handle)
        return _parse(parser)
    except (OSError, configparser.Error, KeyError, ValueError, TypeError) as err:
        raise exception.ConfigInvalid(
            option=path, reason="%s; render it again with 'hybridhost render'." % err
        ) from err
