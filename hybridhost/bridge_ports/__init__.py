"""Every port on the integration bridge: whose it is, whether it works, what to repair.

``hybridhost vifs`` drives it. :mod:`.audit` is pure (a :class:`~.audit.Snapshot` of
frozen dataclasses in, a :class:`~.audit.Report` and a repair plan out);
:mod:`.sources` reads the snapshot from OVSDB, the Docker engine, the Docker driver's
saved VIF specs and the containers' namespaces, and applies a plan through the Docker
driver's own plugger; :mod:`.repair` runs a plan and reads the bridge again.
"""
