"""A hand-written fake cloud at the openstacksdk seam (``openstack.connection.Connection``).

It keeps flavors, images, aggregates, hypervisors and placement traits in memory and
answers the calls ``hybridhost.targeting.cloud`` makes the way nova, glance and
placement do: 404 for unknown hosts, 409 for a host already in an aggregate and for a
stale provider generation, 400 for a trait placement does not know, traits only from
microversion 1.6, and JSON-patch semantics on images. Every write is recorded in
``writes`` so tests can assert that a second apply writes nothing.
"""

import itertools
import json
import types
import uuid as uuidlib

from openstack import exceptions as sdk_exceptions

STANDARD_TRAITS = ("COMPUTE_NET_ATTACH_INTERFACE", "HW_CPU_X86_SSE2", "COMPUTE_NODE")


class FakeResponse:
    def __init__(self, status_code, body=None):
        self.status_code = status_code
        self.content = json.dumps(body).encode() if body is not None else b""
        self.text = self.content.decode()

    def json(self):
        return json.loads(self.content)


class FakeCloud:
    """The whole cloud; ``connection()`` gives an SDK-shaped view of it."""

    def __init__(self):
        self.flavors = {}       # id -> {"name", "extra_specs"}
        self.images = {}        # id -> dict of image attributes + properties
        self.aggregates = {}    # id -> {"name", "hosts", "metadata"}
        self.hypervisors = {}   # uuid -> {"name", "host"}
        self.provider_traits = {}   # uuid -> set
        self.generations = {}   # uuid -> int
        self.traits = set(STANDARD_TRAITS)
        self.writes = []
        self.conflict_next_trait_put = 0
        self._ids = itertools.count(1)

    # --- set-up helpers ---------------------------------------------------------------

    def add_flavor(self, name, **extra_specs):
        flavor_id = "f-%d" % next(self._ids)
        self.flavors[flavor_id] = {"name": name, "extra_specs": dict(extra_specs)}
        return flavor_id

    def add_image(self, name, container_format, disk_format="raw", **properties):
        image_id = str(uuidlib.uuid4())
        self.images[image_id] = {"name": name, "container_format": container_format,
                                 "disk_format": disk_format, "properties": dict(properties)}
        return image_id

    def add_compute(self, host, nodename, traits=("COMPUTE_NODE",)):
        uuid = str(uuidlib.uuid4())
        self.hypervisors[uuid] = {"name": nodename, "host": host}
        self.provider_traits[uuid] = set(traits)
        self.generations[uuid] = 1
        return uuid

    def add_aggregate(self, name, hosts=(), **metadata):
        agg_id = str(next(self._ids))
        self.aggregates[agg_id] = {"name": name, "hosts": list(hosts),
                                   "metadata": dict(metadata)}
        return agg_id

    def traits_of_host(self, host):
        [uuid] = [u for u, h in self.hypervisors.items() if h["host"] == host]
        return self.provider_traits[uuid]

    def aggregate_named(self, name):
        return next(a for a in self.aggregates.values() if a["name"] == name)

    def connection(self):
        return FakeConnection(self)


class FakeConnection:
    def __init__(self, cloud):
        self.compute = FakeCompute(cloud)
        self.image = FakeImage(cloud)
        self.placement = FakePlacement(cloud)
        self.config = types.SimpleNamespace(name="fake")

    def authorize(self):
        return "token"


class FakeCompute:
    def __init__(self, cloud):
        self.cloud = cloud

    def flavors(self, details=True, get_extra_specs=False, **query):
        assert details and get_extra_specs and "is_public" in query
        for flavor_id, flavor in self.cloud.flavors.items():
            yield types.SimpleNamespace(id=flavor_id, name=flavor["name"],
                                        extra_specs=dict(flavor["extra_specs"]))

    def create_flavor_extra_specs(self, flavor, extra_specs):
        self.cloud.writes.append(("flavor-specs", flavor, dict(extra_specs)))
        self._flavor(flavor)["extra_specs"].update(extra_specs)

    def delete_flavor_extra_specs_property(self, flavor, prop):
        self.cloud.writes.append(("flavor-unset", flavor, prop))
        specs = self._flavor(flavor)["extra_specs"]
        if prop not in specs:
            raise sdk_exceptions.NotFoundException("extra spec %s not found" % prop)
        del specs[prop]

    def _flavor(self, flavor_id):
        if flavor_id not in self.cloud.flavors:
            raise sdk_exceptions.NotFoundException("Flavor %s could not be found" % flavor_id)
        return self.cloud.flavors[flavor_id]

    def aggregates(self):
        for agg_id, agg in self.cloud.aggregates.items():
            yield types.SimpleNamespace(id=int(agg_id), name=agg["name"],
                                        hosts=list(agg["hosts"]),
                                        metadata=dict(agg["metadata"]))

    def create_aggregate(self, name):
        if any(a["name"] == name for a in self.cloud.aggregates.values()):
            raise sdk_exceptions.ConflictException("Aggregate %s already exists" % name)
        self.cloud.writes.append(("aggregate-create", name))
        agg_id = self.cloud.add_aggregate(name)
        return types.SimpleNamespace(id=int(agg_id), name=name)

    def find_aggregate(self, name, ignore_missing=True):
        for agg_id, agg in self.cloud.aggregates.items():
            if agg["name"] == name or agg_id == str(name):
                return types.SimpleNamespace(id=int(agg_id), name=agg["name"])
        if ignore_missing:
            return None
        raise sdk_exceptions.NotFoundException("No Aggregate found for %s" % name)

    def set_aggregate_metadata(self, aggregate, **metadata):
        self.cloud.writes.append(("aggregate-metadata", aggregate.name, dict(metadata)))
        current = self.cloud.aggregates[str(aggregate.id)]["metadata"]
        for key, value in metadata.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value

    def add_host_to_aggregate(self, aggregate, host):
        hosts = self.cloud.aggregates[str(aggregate.id)]["hosts"]
        if host not in {h["host"] for h in self.cloud.hypervisors.values()}:
            raise sdk_exceptions.NotFoundException("Compute host %s could not be found."
                                                   % host)
        if host in hosts:
            raise sdk_exceptions.ConflictException("Aggregate %s already has host %s."
                                                   % (aggregate.id, host))
        self.cloud.writes.append(("aggregate-add-host", aggregate.name, host))
        hosts.append(host)

    def remove_host_from_aggregate(self, aggregate, host):
        hosts = self.cloud.aggregates[str(aggregate.id)]["hosts"]
        if host not in hosts:
            raise sdk_exceptions.NotFoundException("Cannot remove host %s" % host)
        self.cloud.writes.append(("aggregate-remove-host", aggregate.name, host))
        hosts.remove(host)

    def hypervisors(self, details=False):
        assert details
        for uuid, hyp in self.cloud.hypervisors.items():
            yield types.SimpleNamespace(id=uuid, name=hyp["name"],
                                        service_details={"host": hyp["host"], "id": 7})


class FakeImage:
    def __init__(self, cloud):
        self.cloud = cloud

    def _sdk_image(self, image_id):
        image = self.cloud.images[image_id]
        props = dict(image["properties"])
        # The SDK maps the legacy 'hypervisor_type' to an attribute, not a property.
        legacy = props.pop("hypervisor_type", None)
        return types.SimpleNamespace(id=image_id, name=image["name"],
                                     container_format=image["container_format"],
                                     disk_format=image["disk_format"],
                                     hypervisor_type=legacy, properties=props)

    def images(self):
        for image_id in self.cloud.images:
            yield self._sdk_image(image_id)

    def get_image(self, image_id):
        if image_id not in self.cloud.images:
            raise sdk_exceptions.NotFoundException("No Image found for %s" % image_id)
        return self._sdk_image(image_id)

    def patch(self, path, json=None, headers=None, raise_exc=True):
        assert headers["Content-Type"] == "application/openstack-images-v2.1-json-patch"
        image_id = path.rsplit("/", 1)[1]
        props = self.cloud.images[image_id]["properties"]
        for op in json:
            key = op["path"].lstrip("/")
            if op["op"] == "replace" and key not in props:
                return FakeResponse(409, {"message": "no such property %s" % key})
            if op["op"] == "add" and key in props:
                return FakeResponse(409, {"message": "property %s exists" % key})
            props[key] = op["value"]
        self.cloud.writes.append(("image-patch", image_id, json))
        return FakeResponse(200, {"id": image_id})


class FakePlacement:
    def __init__(self, cloud):
        self.cloud = cloud

    def request(self, path, method, json=None, microversion=None, raise_exc=True):
        assert raise_exc is False
        if tuple(int(p) for p in (microversion or "1.0").split(".")) < (1, 6):
            return FakeResponse(404, {"errors": [{"detail": "traits need 1.6"}]})
        parts = path.split("?")[0].strip("/").split("/")
        if parts[0] == "traits" and len(parts) == 1:
            names = path.split("name=in:")[1].split(",")
            return FakeResponse(200, {"traits": sorted(self.cloud.traits & set(names))})
        if parts[0] == "traits" and method == "PUT":
            return self._put_trait(parts[1])
        if parts[0] == "resource_providers" and parts[2:] == ["traits"]:
            return self._provider_traits(parts[1], method, json)
        raise AssertionError("unexpected placement call %s %s" % (method, path))

    def _put_trait(self, name):
        if not name.startswith("CUSTOM_"):
            return FakeResponse(400, {"errors": [{"detail": "not a custom trait"}]})
        existed = name in self.cloud.traits
        self.cloud.traits.add(name)
        if not existed:
            self.cloud.writes.append(("trait-create", name))
        return FakeResponse(204 if existed else 201)

    def _provider_traits(self, uuid, method, body):
        if uuid not in self.cloud.provider_traits:
            return FakeResponse(404, {"errors": [{"detail": "no provider"}]})
        if method == "GET":
            return FakeResponse(200, {"traits": sorted(self.cloud.provider_traits[uuid]),
                                      "resource_provider_generation":
                                      self.cloud.generations[uuid]})
        if self.cloud.conflict_next_trait_put:
            # Another writer (nova-compute's periodic update) got there first.
            self.cloud.conflict_next_trait_put -= 1
            self.cloud.generations[uuid] += 1
        if body["resource_provider_generation"] != self.cloud.generations[uuid]:
            return FakeResponse(409, {"errors": [{"code": "placement.concurrent_update"}]})
        unknown = set(body["traits"]) - self.cloud.traits
        if unknown:
            return FakeResponse(400, {"errors": [{"detail": "No such trait(s): %s"
                                                  % ", ".join(sorted(unknown))}]})
        self.cloud.provider_traits[uuid] = set(body["traits"])
        self.cloud.generations[uuid] += 1
        self.cloud.writes.append(("provider-traits", uuid, sorted(body["traits"])))
        return FakeResponse(200, {"traits": body["traits"],
                                  "resource_provider_generation":
                                  self.cloud.generations[uuid]})
