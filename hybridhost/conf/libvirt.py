"""[libvirt]: libvirt of the VM side."""

from oslo_config import cfg

libvirt_group = cfg.OptGroup("libvirt", help="libvirt of the VM side.")
libvirt_opts = [
    cfg.StrOpt("connection_uri", default="qemu:///system", help="libvirt connection URI."),
    cfg.StrOpt("virt_type", default="qemu", choices=[
        ("qemu", "software emulation (TCG); works everywhere"),
        ("kvm", "hardware virtualisation; needs a usable /dev/kvm")],
        help="nova's [libvirt] virt_type."),
    cfg.StrOpt("socket", default="/var/run/libvirt/libvirt-sock",
               help="libvirtd's read-write unix socket (what nova-compute-kvm waits for)."),
    cfg.BoolOpt("force_config_drive", default=True,
                help="Give every VM a config drive (nova's [DEFAULT] force_config_drive; "
                     "an ISO 9660 image made with genisoimage). The box runs no metadata "
                     "agent, so this is how a VM finds its neutron address, hostname and "
                     "keys without a DHCP or metadata service."),
]
