"""Concurrent boots and deletes on the real dockerd, OVS and privsep daemon (issue 11).

Twenty instances spawn at once (some on the first use of an image, so the image cache
is raced too), each with its own port, MAC and IP; each must hold exactly its own VIF,
in its own network namespace, peered with its own host end and OVS row. Then the twenty
are destroyed at once and nothing may be left: no container, veth, OVS row of this
service or saved VIF spec (and each Glance ID keeps its cache tag). Three rounds, so
that a race that shows once in tens of deletes shows here. Meanwhile Python threads switch often
(:func:`base.switching_often`) and, during the deletes, the rows keep being updated as
ovs-vswitchd updates them (:func:`base.updating_rows`): the OVS row that a delete once
left on the lab (its owner's cache read missed the row while the IDL thread applied an
update to it) shows in a few runs instead of a few thousand deletes.

Docker 20.10.24 (Debian 12) can deadlock under these deletes: libnetwork's
getSvcRecords against processEndpointDelete (moby/moby#46661; fixed upstream by
moby/moby#42545, for 20.10 by moby/libnetwork#2679);
the engine's calls then time out and the test fails on them.
"""

import concurrent.futures
import contextlib
import os

import docker
from pyroute2 import IPRoute

from hybridhost.virt.docker import images
from hybridhost.virt.docker import ovs
from hybridhost.virt.docker import vifs
from tests.contract import nova_objects
from tests.functional.virt_docker import base

WIDTH = 20
ROUNDS = 3
SUBNET = "10.78.%d.0/24"


def _in_parallel(func, items):
    """``func(item)`` for every item at once; the results, or the first error raised."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(func, items))


def _host_link(name):
    """(ifindex, peer ifindex) of ``name`` in the host's namespace, or None."""
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        return found[0], ipr.get_links(found[0])[0].get_attr("IFLA_LINK")


def _netns_links(pid):
    """{ifname: (mac, peer ifindex, addresses)} of every link in ``pid``'s namespace."""
    with IPRoute(netns="/proc/%d/ns/net" % pid) as ns:
        links = {}
        for link in ns.get_links():
            addresses = sorted("%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                               for a in ns.get_addr(index=link["index"], family=2))
            links[link.get_attr("IFLA_IFNAME")] = (link.get_attr("IFLA_ADDRESS"),
                                                   link.get_attr("IFLA_LINK"), addresses)
    return links


class ConcurrencyTest(base.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.own = ovs.OvsPorts(base.OVSDB, owner=self.host, api=self.ovs_api)
        self.cached_glance_id = None
        self.booted = []
        self.addCleanup(self._remove_what_rounds_left)

    def _remove_what_rounds_left(self):
        """After a failure: the instances, then whatever their deletes left."""
        for instance, network_info in self.booted:
            with contextlib.suppress(Exception):
                self.driver.destroy(self.context, instance, network_info)
        for _instance, network_info in self.booted:
            spec = self._spec(network_info)
            for name in (spec.host_ifname, vifs.waiting_peer_ifname(spec)):
                with contextlib.suppress(Exception):
                    self.net.delete_veth(name)
            self.ovs_api.del_port(spec.host_ifname, if_exists=True).execute(check_error=True)

    def _spec(self, network_info):
        return vifs.specs_from_network_info(network_info, self.driver.conf.vif_prefix,
                                            self.bridge)[0]

    def _round_images(self):
        """Glance IDs for a round: a new one (first use, raced) and a cached one."""
        fresh = self.add_image()
        if self.cached_glance_id is None:
            self.cached_glance_id = self.add_image()
        return fresh, self.cached_glance_id

    def _boot(self, job):
        number, round_number, glance_id = job
        cidr = SUBNET % round_number
        address = cidr.replace(".0/24", ".%d" % (10 + number))
        network_info = nova_objects.ports(self.bridge, [(cidr, address,
                                                         cidr.replace(".0/24", ".1"))])
        instance = self.make_instance(glance_id, memory_mb=64)
        self.booted.append((instance, network_info))
        self.driver.spawn(self.context, instance, self.image_meta(glance_id), [], None, {},
                          network_info=network_info)
        return instance, network_info, address + "/24"

    def _wiring_problems(self, instance, network_info, address):
        """What is wrong with the VIF of ``instance`` (it must be exactly its own)."""
        vif, spec = network_info[0], self._spec(network_info)
        pid = self.driver.engine.get(instance.uuid).pid
        links = _netns_links(pid)
        host = _host_link(spec.host_ifname)
        port = self.own.get_port(spec.host_ifname)
        problems = []
        if sorted(links) != ["eth0", "lo"]:
            problems.append("links %s" % sorted(links))
        mac, peer, addresses = links.get("eth0", (None, None, []))
        if (mac, addresses) != (vif["address"], [address]):
            problems.append("eth0 is %s %s" % (mac, addresses))
        if host is None or peer != host[0]:
            problems.append("eth0 is not the peer of %s %s" % (spec.host_ifname, host))
        ids = port and (port.iface_id, port.mac, port.vm_uuid, port.bridge, port.ofport > 0)
        if ids != (vif["id"], vif["address"], instance.uuid, self.bridge, True):
            problems.append("OVS row %s" % (port,))
        return ["%s: %s" % (instance.uuid, p) for p in problems]

    def _check_wiring(self, booted):
        problems = []
        for instance, network_info, address in booted:
            problems += self._wiring_problems(instance, network_info, address)
        netns = {os.stat("/proc/%d/ns/net" % self.driver.engine.get(i.uuid).pid).st_ino
                 for i, _n, _a in booted}
        if len(netns) != len(booted):
            problems.append("%d network namespaces for %d containers" % (len(netns), len(booted)))
        uuids = {instance.uuid for instance, _n, _a in booted}
        own = sorted(p.name for p in self._own_rows() if p.vm_uuid in uuids)
        expected = sorted(self._spec(n).host_ifname for _i, n, _a in booted)
        if own != expected:
            problems.append("OVS rows of the round %s, expected %s" % (own, expected))
        return problems

    def _leftovers(self, booted):
        """What the deletes of ``booted`` left behind."""
        mine = {"label": "nova.host=" + self.host}
        left = ["container %s" % c["Names"] for c in self.docker.containers(all=True, filters=mine)]
        for instance, network_info, _address in booted:
            spec = self._spec(network_info)
            left += ["veth %s" % name for name in (spec.host_ifname, vifs.waiting_peer_ifname(spec))
                     if _host_link(name) is not None]
            if os.path.exists(os.path.join(self.tmp, instance.uuid)):
                left.append("saved VIF spec of %s" % instance.uuid)
        base.wait_for(lambda: not self._own_rows(), timeout=3)
        left += ["OVS row %s (%s)" % (p.name, p.vm_uuid) for p in self._own_rows()]
        return left

    def _own_rows(self):
        return [port for port in self.own.list_own_ports() if port.bridge == self.bridge]

    def _image_tags(self):
        try:
            return set(self.docker.inspect_image(self.tarball_image_id)["RepoTags"])
        except docker.errors.NotFound:
            return set()

    def _missing_cache_tags(self):
        """The cache's tag of every Glance ID of the test must be on the image. Other runs
        on this box tag the same image (its ID is the tarball's): extra tags are theirs."""
        expected = {images.local_ref(glance_id) for glance_id in self._glance_ids}
        return ["image tag %s missing" % tag for tag in sorted(expected - self._image_tags())]

    def test_twenty_at_once_are_wired_to_themselves_and_leave_nothing(self):
        """20 spawns at once (half on a Glance image's first use), then 20 destroys at
        once, three times: never a cross-wired VIF, never anything left."""
        with contextlib.suppress(Exception):  # the first round loads it for real, concurrently
            self.docker.remove_image(self.tarball_image_id)
        problems = []
        for round_number in range(ROUNDS):
            fresh, cached = self._round_images()
            jobs = [(n, round_number, (fresh, cached)[n % 2]) for n in range(WIDTH)]
            with base.switching_often():
                booted = _in_parallel(self._boot, jobs)
            problems += ["round %d: %s" % (round_number, p) for p in self._check_wiring(booted)]
            names = [self._spec(network_info).host_ifname for _i, network_info, _a in booted]
            with base.updating_rows(self.ovs_api, names), base.switching_often():
                _in_parallel(lambda b: self.driver.destroy(self.context, b[0], b[1]), booted)
            problems += ["round %d: %s left" % (round_number, p) for p in self._leftovers(booted)]
        problems += self._missing_cache_tags()
        self.assertFalse(problems, "\n".join(problems))
