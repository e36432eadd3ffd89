"""The lab: a minimal real OpenStack control plane on the box, under the box's supervisord.

``hybridhost lab up`` renders it (``render``), bootstraps it (``bootstrap``) and fills it
with demo content (``demo``); ``state`` holds its generated secrets and directories.
"""
