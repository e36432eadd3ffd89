"""The lab's actions: a minimal real OpenStack control plane on the box, under the box's
supervisord.

``hybridhost lab up`` (``lifecycle``) renders the box and the control plane
(``hybridhost.render.control_plane``, from the ``[lab]`` options in ``hybridhost.conf``),
bootstraps it (``bootstrap``), fills it with demo content (``demo``, built by ``guest``
and ``container_image``) and writes the client files (``access``); ``host`` cleans up what
QEMU, dnsmasq and Docker leave on the machine. Its generated secrets and directories are
in ``hybridhost.lab_state``. Nothing outside ``hybridhost.lab`` and ``hybridhost.cmd``
imports this package.
"""
