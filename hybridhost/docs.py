"""The configuration reference in README.rst, generated from the options."""

import re

from hybridhost import conf as hh_conf

BEGIN = ".. BEGIN CONFIGURATION REFERENCE (generated: python -m hybridhost.docs README.rst)"
END = ".. END CONFIGURATION REFERENCE"


def _default(opt):
    if opt.sample_default is not None:
        return opt.sample_default
    if opt.default is None:
        return "(unset)"
    if isinstance(opt.default, list):
        return ",".join(str(item) for item in opt.default) or "(empty)"
    if isinstance(opt.default, bool):
        return "true" if opt.default else "false"
    return str(opt.default) if opt.default != "" else "(empty)"


def _type(opt):
    text = type(opt.type).__name__ if opt.type is not None else "String"
    bounds = [("min", getattr(opt.type, "min", None)), ("max", getattr(opt.type, "max", None))]
    extras = ["%s %s" % (name, value) for name, value in bounds if value is not None]
    choices = getattr(opt.type, "choices", None)
    if choices:
        extras.append("one of: " + ", ".join(str(c) for c in choices))
    return text + (" (%s)" % "; ".join(extras) if extras else "")


def _deprecated(opt):
    names = ", ".join(old.name for old in opt.deprecated_opts)
    return " (deprecated name: %s)" % names if names else ""


def reference():
    lines = [BEGIN, ""]
    for group, opts in hh_conf.list_opts():
        title = "[%s]" % group.name
        lines += [title, "~" * len(title), "", group.help, ""]
        for opt in opts:
            lines.append("``%s`` = ``%s`` — %s%s%s" % (
                opt.name, _default(opt), _type(opt), " (secret)" if opt.secret else "",
                _deprecated(opt)))
            lines.append("    " + " ".join(opt.help.split()))
            lines.append("")
    lines.append(END)
    return "\n".join(lines)


def update(text):
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    return pattern.sub(lambda _m: reference(), text)


if __name__ == "__main__":
    import sys

    path = sys.argv[1]
    with open(path) as handle:
        old = handle.read()
    new = update(old)
    if new != old:
        with open(path, "w") as handle:
            handle.write(new)
        print("updated %s" % path)
