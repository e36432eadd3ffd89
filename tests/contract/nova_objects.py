"""nova objects as nova-compute hands them to a virt driver (for the driver contract).

``objects.register_all()`` must have run (the harnesses' ``setUp`` does it).
"""

import itertools
import uuid as uuidlib

import fixtures
from nova import objects
from nova.network import model

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhybmlkaG9zdC10ZXN0LWtleS0wMDAwMDAwMDAw hh@test"


class NoControlPlaneFixture(fixtures.Fixture):
    """Stand-ins for the two control-plane reads of nova's metadata builder.

    In nova-compute, ``InstanceMetadata`` asks neutron for the instance's security
    groups and the conductor for its block device mappings; the driver's tests have
    neither service, so the instance has no security groups and no volumes.
    """

    def _setUp(self):
        self.useFixture(fixtures.MonkeyPatch(
            "nova.network.security_group_api.get_instance_security_groups",
            lambda context, instance, detailed=False: []))
        self.useFixture(fixtures.MonkeyPatch(
            "nova.objects.Instance.get_bdms",
            lambda instance: objects.BlockDeviceMappingList(objects=[])))


def loaded_fields(number, uuid, key_data=KEY, user_data=None, system_metadata=None):
    """What nova-compute has loaded on the instance it hands to spawn (and what the
    metadata builder would otherwise lazy-load from the database)."""
    keypairs = [objects.KeyPair(name="hhkey", type="ssh", public_key=key_data, user_id="u")
                ] if key_data else []
    return {
        "display_name": "server %d" % number, "launch_index": 0,
        "reservation_id": "r-%08x" % number, "key_name": "hhkey" if key_data else None,
        "key_data": key_data, "user_data": user_data, "metadata": {"role": "test"},
        "system_metadata": dict(system_metadata or {}), "availability_zone": "nova",
        "root_device_name": None, "device_metadata": None, "numa_topology": None,
        "keypairs": objects.KeyPairList(objects=keypairs),
        "ec2_ids": objects.EC2Ids(instance_id="i-%08x" % number, ami_id="ami-00000001",
                                  kernel_id=None, ramdisk_id=None),
    }

_NUMBERS = itertools.count(1)


def new_mac():
    raw = uuidlib.uuid4().bytes
    return "fa:16:3e:%02x:%02x:%02x" % (raw[0], raw[1], raw[2])


def network_info(bridge, vifs, mtu=1450):
    """nova network_info as neutron builds it; ``vifs`` = [(port_id, mac, [(cidr, ip, gw)])]."""
    result = []
    for port_id, mac, subnets in vifs:
        net_subnets = []
        for cidr, ip, gateway in subnets:
            kwargs = {"gateway": model.IP(address=gateway, type="gateway")} if gateway else {}
            version = 6 if ":" in cidr else 4
            net_subnets.append(model.Subnet(cidr=cidr, version=version,
                                            ips=[model.FixedIP(address=ip, version=version)],
                                            **kwargs))
        network = model.Network(id="net-" + port_id[:8], bridge=bridge, label="hhtest",
                                subnets=net_subnets, meta={"mtu": mtu, "tenant_id": "t"})
        result.append(model.VIF(
            id=port_id, address=mac, network=network, type="ovs", vnic_type="normal",
            details={"port_filter": True, "bridge_name": bridge, "datapath_type": "netdev"},
            devname=("tap" + port_id)[:14], active=False))
    return model.NetworkInfo(result)


def ports(bridge, *subnets_per_vif):
    """network_info with one new port (id, MAC) per entry of ``subnets_per_vif``."""
    return network_info(bridge, [(str(uuidlib.uuid4()), new_mac(), list(subnets))
                                 for subnets in subnets_per_vif])


def instance(host, image_ref, memory_mb=128, vcpus=1, **loaded):
    number = next(_NUMBERS)
    uuid = str(uuidlib.uuid4())
    return objects.Instance(
        id=number, uuid=uuid, host=host, hostname="vm%d" % number,
        image_ref=image_ref, project_id="p", user_id="u", vm_state="building",
        task_state="spawning",
        flavor=objects.Flavor(memory_mb=memory_mb, vcpus=vcpus, root_gb=1, ephemeral_gb=0,
                              swap=0, name="m1.hh", flavorid="hh1", extra_specs={}),
        **loaded_fields(number, uuid, **loaded))


class BindingNetworkAPI:
    """nova's neutron API as a driver's unshelve calls it: ``setup_instance_network_on_host``
    (recorded in ``bound``) and ``get_instance_nw_info`` (``ports`` by instance UUID)."""

    def __init__(self):
        self.bound = []
        self.ports = {}

    def setup_instance_network_on_host(self, context, instance, host, migration=None,
                                       provider_mappings=None):
        self.bound.append((instance.uuid, host))

    def get_instance_nw_info(self, context, instance, **kwargs):
        return self.ports[instance.uuid]


def binding_failed(network_info):
    """``network_info`` as nova reads it when neutron could not bind its ports."""
    return model.NetworkInfo([model.VIF(**dict(vif, type=model.VIF_TYPE_BINDING_FAILED))
                              for vif in network_info])


def image_meta(glance_id, container_format, **properties):
    return objects.ImageMeta.from_dict({"id": glance_id, "name": "hhtest", "disk_format": "raw",
                                        "container_format": container_format,
                                        "properties": properties})


def with_dns(network_info, *servers):
    """``network_info`` whose first subnet of each port has ``servers`` as DNS servers."""
    for vif in network_info:
        vif["network"]["subnets"][0]["dns"] = [model.IP(address=a, type="dns") for a in servers]
    return network_info
