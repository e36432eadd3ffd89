"""Ports neutron's agent dropped, found on the integration bridge and handed back to it.

neutron's OVS agent wires a port (VLAN tag, flows, firewall, "up" to the server) when its
OVSDB monitor reports the Interface added with an ``iface-id``, an ``attached-mac`` and
an OpenFlow port. It has no second chance: a port it dropped on the way is never looked
at again, and stays without a VLAN tag, cut off, until the agent restarts. Ways in:

* the Interface got its ``iface-id`` in a later transaction than its insert (the
  monitor's update of a port the agent does not know is ignored);
* the port was missing from the agent's own OVSDB cache, which is not the monitor's and
  can lag it, when the agent looked it up ("not found on the integration bridge");
* the Port row was replaced while the agent was binding it.

So every ``interval`` seconds the box's agent reads the bridge: a VIF port (``iface-id``
and ``attached-mac``, an OpenFlow port) whose Port row has no tag is a suspect, and a
suspect seen at two looks in a row, same Interface row, is handed back to the agent's
loop as added. The loop wires it as any new port: neutron binds it (tag, "up"), or
answers that it does not (the dead VLAN, 4095). Pure bookkeeping here; the agent reads
the rows (``agent.HybridhostOVSAgent``).
"""

import dataclasses
import time

#: Seconds between two looks: a dropped port is wired again after one to two of them.
#: Each look reads the agent's OVSDB cache only (no server round trip).
LOOK_INTERVAL_S = 10.0


@dataclasses.dataclass(frozen=True)
class Untagged:
    """A VIF port without a VLAN tag: its Interface row, name and neutron port."""

    row: str  # the Interface row's UUID: a port plugged again is a new suspect
    name: str
    port_id: str


def untagged_vifs(interfaces, tags):
    """The :class:`Untagged` among ``interfaces`` (Interface rows: ``_uuid``, ``name``,
    ``external_ids``, ``ofport``), by ``tags`` ({Port name: tag}, ``[]`` for none)."""
    found = set()
    for iface in interfaces:
        ids = iface.get("external_ids") or {}
        ofport = iface.get("ofport")
        if not (ids.get("iface-id") and ids.get("attached-mac")):
            continue
        if not isinstance(ofport, int) or ofport <= 0:
            continue  # not ready: the agent waits for its OpenFlow port itself
        if tags.get(iface["name"]) == []:  # absent: its Port row is not in this read
            found.add(Untagged(str(iface["_uuid"]), iface["name"], ids["iface-id"]))
    return found


class UnwiredWatch:
    """When to look (``due``) and what two looks in a row found (``look``)."""

    def __init__(self, interval=LOOK_INTERVAL_S, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        # Not at once: the agent's first iterations wire every port on the bridge.
        self._next = clock() + interval
        self._suspects = frozenset()

    def due(self):
        return self.clock() >= self._next

    def look(self, untagged):
        """Record a look that found ``untagged``; returns those the previous look found
        too. A port handed back is a suspect again only from the next look on."""
        self._next = self.clock() + self.interval
        lost = frozenset(untagged) & self._suspects
        self._suspects = frozenset(untagged) - lost
        return lost
