"""hybridhost-watcher: supervisord's event listener that watches the box's health.

``topology`` reads what to watch (conf/watcher.conf), ``listener`` speaks supervisord's
listener protocol, ``probes`` (with ``wire``, the daemons' own protocols) and ``rpc`` ask
each part whether it is alive, ``repairs`` decides (pure) what to restart and when to
give up, ``service`` runs a round, ``slow`` runs the heavier checks in a child process,
``state`` is the JSON file 'hybridhost status' reads, ``metrics`` the Prometheus export.
"""
