"""nova 34 loads compute drivers only as ``nova.virt.<name>``: this re-exports ours.

Installed (non-editable) as ``nova.virt.hybridhost_docker``; nova.conf says
``compute_driver = hybridhost_docker.DockerDriver``.
"""

from hybridhost.virt.docker.driver import DockerDriver  # noqa: F401
