"""The ledger as a table with its notes, and as JSON (pure)."""

from hybridhost.ledger import model

COLUMNS = ("SIDE", "PROVIDER", "RESOURCE", "UNIT", "CAPACITY", "USED", "FREE",
           "PLAN (offer x ratio)")
RIGHT_ALIGNED = (4, 5, 6)


def _cell(value):
    return "?" if value is None else str(value)


def _plan(line):
    return "%d x %g = %d" % (line.offer, line.ratio, line.planned)


def _check(line):
    marks = (["MISMATCH"] if line.matches is False else []) + (
        ["OVER-USED"] if line.over_used else [])
    return "".join("  " + mark for mark in marks)


def _row(line):
    return (line.side, line.provider, line.resource.name, line.resource.unit,
            _cell(line.capacity), _cell(line.used), _cell(line.free), _plan(line))


def table(ledger):
    """The table's lines: one per side and resource class."""
    rows = [COLUMNS] + [_row(line) for line in ledger.lines]
    checks = [""] + [_check(line) for line in ledger.lines]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row, check in zip(rows, checks, strict=True):
        cells = [cell.rjust(width) if i in RIGHT_ALIGNED else cell.ljust(width)
                 for i, (cell, width) in enumerate(zip(row, widths, strict=False))]
        lines.append("  ".join(cells + [row[-1]]) + check)
    return lines


def _room_text(room):
    if room.max_unit is not None:
        resource = next(r for r in model.RESOURCES if r.name == room.limit)
        return "0 %s (asks %d %s, above max_unit %d: never fits)" % (
            room.flavor.name, getattr(room.flavor, resource.field), resource.unit,
            room.max_unit)
    return "%d %s (limit %s)" % (room.count, room.flavor.name, room.limit)


def _room_lines(ledger, flavors):
    found = []
    for side in dict.fromkeys(flavor.side for flavor in flavors):
        rooms = [ledger.room(flavor) for flavor in flavors if flavor.side == side]
        rooms = [room for room in rooms if room.count is not None]
        if rooms:
            found.append("room on %s: %s." % (side, ", ".join(map(_room_text, rooms))))
    return found


def notes(ledger, flavors=()):
    """What follows the table: why use is unknown, or the disagreements and how many
    more of each of ``flavors`` fit."""
    if not ledger.read:
        return ["use unknown: %s. The table shows the plan only: what each side offers "
                "placement x its allocation ratio." % ledger.unknown.rstrip(".")]
    found = ["problem: %s" % problem for problem in ledger.problems]
    if not found:
        found.append("placement holds what the plan says (CAPACITY = offer x ratio).")
    return found + _room_lines(ledger, flavors)


def lines(ledger, flavors=()):
    return table(ledger) + notes(ledger, flavors)


def _line_dict(line):
    inventory = line.inventory
    return {
        "side": line.side, "provider": line.provider, "resource": line.resource.name,
        "unit": line.resource.unit, "capacity": line.capacity, "used": line.used,
        "free": line.free, "offer": line.offer, "ratio": line.ratio,
        "planned": line.planned, "matches_plan": line.matches, "over_used": line.over_used,
        "placement": None if inventory is None else {
            "total": inventory.total, "reserved": inventory.reserved,
            "allocation_ratio": inventory.allocation_ratio, "max_unit": inventory.max_unit},
    }


def as_dict(ledger, flavors=()):
    """The ledger for ``--json``."""
    return {
        "placement": "read" if ledger.read else "unknown",
        "unknown": ledger.unknown,
        "providers": dict(ledger.uuids),
        "resources": [_line_dict(line) for line in ledger.lines],
        "problems": ledger.problems,
        "room": [{"flavor": room.flavor.name, "side": room.flavor.side,
                  "count": room.count, "limit": room.limit, "max_unit": room.max_unit}
                 for room in (ledger.room(flavor) for flavor in flavors)],
    }
