"""Deterministic INI text: sections and keys in the order given, one header."""

HEADER = ("# Rendered by 'hybridhost render' from hybridhost.conf. Do not edit: change\n"
          "# hybridhost.conf and render again ('hybridhost render --check' shows drift).\n")


def format_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


def render(sections, comment=None):
    """``sections``: iterable of (name, [(key, value), ...]); None values are left out."""
    lines = [HEADER.rstrip("\n")]
    if comment:
        lines.extend("# " + line if line else "#" for line in comment.splitlines())
    for name, items in sections:
        lines.append("")
        lines.append("[%s]" % name)
        lines.extend("%s = %s" % (key, format_value(value))
                     for key, value in items if value is not None)
    return "\n".join(lines) + "\n"
