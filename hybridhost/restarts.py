"""Which programs read a changed rendered file, and restarting them.

supervisord restarts a program on ``reload_config`` only when its own section changed;
a program whose command or environment names a changed file (or its directory) keeps
running with the old one until it is restarted.
"""

import configparser
import os
import re

PROGRAM_DIR = "supervisord.d"


def programs_using(program_texts, changed_paths):
    """Programs (``group:name``) whose command or environment names a changed file or
    its directory: supervisord only notices changes to its own program sections."""
    groups, commands = {}, {}
    for text in program_texts:
        parser = configparser.RawConfigParser()
        parser.read_string(text)
        for section in parser.sections():
            kind, _, name = section.partition(":")
            if kind == "group":
                for program in parser.get(section, "programs").split(","):
                    groups[program.strip()] = name
            elif kind in ("program", "eventlistener"):
                commands[name] = "%s %s" % (parser.get(section, "command"),
                                           parser.get(section, "environment", fallback=""))
    needles = set()
    for path in changed_paths:
        needles.update({path, os.path.dirname(path)})
    return sorted("%s:%s" % (groups.get(name, name), name)
                  for name, text in commands.items()
                  if any(_names(text, needle) for needle in needles))


def _names(text, path):
    return path in re.split(r"[\s=,;\"']+", text)


def program_texts(config_dir):
    """The rendered program files (``supervisord.d/*.conf``) under ``config_dir``."""
    directory = os.path.join(config_dir, PROGRAM_DIR)
    texts = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".conf"):
            with open(os.path.join(directory, name)) as handle:
                texts.append(handle.read())
    return texts


def changed_programs(config_dir, changed, restarted_groups):
    """Programs that read one of the ``changed`` files (relative to ``config_dir``),
    except those of a group supervisord has just (re)started."""
    paths = [os.path.join(config_dir, rel) for rel in changed]
    return [name for name in programs_using(program_texts(config_dir), paths)
            if name.split(":")[0] not in restarted_groups]


def restart(client, names, progress, why):
    """Restart each program (a stopped one is just started); a fault other than
    NOT_RUNNING on the stop is raised, naming the program."""
    for name in names:
        client.restart(name)
    if names:
        progress("restarted %s (%s)" % (", ".join(names), why))
    return list(names)
