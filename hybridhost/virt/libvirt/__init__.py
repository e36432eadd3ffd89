"""The libvirt side's compute driver: nova's own, with one shutdown fix (``driver``)."""
