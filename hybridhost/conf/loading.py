"""Parsing hybridhost.conf: every value checked at load time, errors as ConfigInvalid."""

import ipaddress
import os

from oslo_config import cfg

from hybridhost import exception
from hybridhost.conf.opts import GROUPS
from hybridhost.conf.opts import register_opts

DEFAULT_CONFIG_FILE = "/etc/hybridhost/hybridhost.conf"


def load(argv=None, default_config_files=None):
    """Parse hybridhost.conf (and --config-file/--config-dir) into a fresh ConfigOpts.

    Errors become ``ConfigInvalid`` naming the option and the fix.
    """
    conf = cfg.ConfigOpts()
    register_opts(conf)
    if default_config_files is None:
        default_config_files = ([DEFAULT_CONFIG_FILE]
                                if os.path.exists(DEFAULT_CONFIG_FILE) else [])
    try:
        conf(args=list(argv or []), project="hybridhost",
             default_config_files=default_config_files,
             use_env=False)
        _check_values(conf)
    except cfg.ConfigFilesNotFoundError as err:
        raise exception.ConfigInvalid(
            option="--config-file",
            reason="cannot read %s; pass an existing file." % ", ".join(err.config_files)
        ) from err
    except cfg.ConfigFileParseError as err:
        raise exception.ConfigInvalid(
            option=err.config_file,
            reason="not an INI file: %s" % err.msg) from err
    except (cfg.ConfigFileValueError, ValueError) as err:
        raise exception.ConfigInvalid(option=_option_of(err), reason=str(err)) from err
    except cfg.NoSuchOptError as err:
        raise exception.ConfigInvalid(option="%s.%s" % (err.group, err.opt_name),
                                      reason="no such option") from err
    return conf


def _option_of(err):
    text = str(err)
    for group, opts in GROUPS:
        for opt in opts:
            if ("[%s] %s" % (group.name, opt.name)) in text or (
                    "%s.%s" % (group.name, opt.name)) in text:
                return "[%s] %s" % (group.name, opt.name)
    return "hybridhost.conf"


def _check_values(conf):
    """Force every option to be parsed now, so a bad value is reported at load time.

    oslo.config parses values lazily; without this a typo would surface as a
    traceback in the middle of rendering.
    """
    for group, opts in GROUPS:
        for opt in opts:
            try:
                getattr(conf[group.name], opt.dest)
            except (cfg.ConfigFileValueError, ValueError) as err:
                raise exception.ConfigInvalid(
                    option="[%s] %s" % (group.name, opt.name),
                    reason="%s. Fix the value in hybridhost.conf (see 'hybridhost "
                           "render --help' and README.rst's configuration reference)."
                           % _short(err)) from err
    _reject_unknown_options(conf)
    _check_combinations(conf)


def _check_combinations(conf):
    if conf.supervisor.inet_port and not conf.supervisor.inet_password:
        raise exception.ConfigInvalid(
            option="[supervisor] inet_password",
            reason="inet_port is set, so an unauthenticated XML-RPC server would be "
                   "reachable; set inet_password (or remove inet_port).")
    if not conf.docker.url.startswith("unix://"):
        raise exception.ConfigInvalid(
            option="[docker] url",
            reason="only unix:// sockets are supported (a TCP Docker API is root "
                   "for anyone who reaches it).")
    _check_loopback(conf.watcher.metrics_host, "[watcher] metrics_host")


def _check_loopback(host, option):
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise exception.ConfigInvalid(
            option=option,
            reason="%s is not a loopback address; the metrics endpoint has no "
                   "authentication, so give 127.0.0.1 or ::1." % host)


def _short(err):
    text = str(err)
    return text.split(": ", 1)[-1] if "Value for option" in text else text


def _reject_unknown_options(conf):
    """A misspelt option would otherwise be ignored silently."""
    known = {group.name: {opt.dest for opt in opts} | _deprecated_names(group, opts)
             for group, opts in GROUPS}
    known["DEFAULT"] = {"config_file", "config_dir", "config_source"}
    for section, options in _config_file_contents(conf):
        if section not in known:
            raise exception.ConfigInvalid(
                option="[%s]" % section,
                reason="unknown section; known sections are %s." % ", ".join(
                    sorted(k for k in known if k != "DEFAULT")))
        for name in options:
            if name.replace("-", "_") not in known[section]:
                raise exception.ConfigInvalid(
                    option="[%s] %s" % (section, name),
                    reason="unknown option; check its spelling in README.rst's "
                           "configuration reference.")


def _deprecated_names(group, opts):
    return {old.name for opt in opts for old in opt.deprecated_opts
            if old.group in (None, group.name)}


def _config_file_contents(conf):
    # oslo.config keeps the parsed files; reading them again keeps this independent
    # of its private attributes.
    from oslo_config import iniparser

    class _Collect(iniparser.BaseParser):
        def __init__(self):
            self.found = []
            self.section = None

        def new_section(self, section):
            self.section = section
            self.found.append((section, []))

        def assignment(self, key, value):
            if self.section is not None:
                self.found[-1][1].append(key)

        def parse_exc(self, msg, lineno, line=None):
            return ValueError("%s at line %d" % (msg, lineno))

    for path in conf.config_file or []:
        parser = _Collect()
        with open(path) as handle:
            parser.parse(handle)
        yield from parser.found
