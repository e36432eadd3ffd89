"""nova 34 loads compute drivers only as ``nova.virt.<name>``: this re-exports the libvirt
side's.

Installed (non-editable) as ``nova.virt.hybridhost_libvirt``; nova-kvm.conf says
``compute_driver = hybridhost_libvirt.LibvirtDriver``.
"""

from hybridhost.virt.libvirt.driver import LibvirtDriver  # noqa: F401
