"""The openstacksdk adapter of targeting: read a cloud into a CloudState, make changes.

The only module of ``hybridhost.targeting`` that talks to a cloud. It uses the compute
and image proxies, and plain placement requests (traits need microversion 1.6); every
SDK or HTTP failure becomes a one-line HybridhostError here.
"""

import logging

from keystoneauth1 import exceptions as ks_exceptions
import openstack
from openstack import exceptions as sdk_exceptions

from hybridhost import exception
from hybridhost.targeting import model

LOG = logging.getLogger(__name__)

PLACEMENT_TRAITS_MICROVERSION = "1.6"
JSON_PATCH = "application/openstack-images-v2.1-json-patch"
_GENERATION_RETRIES = 3


def connect(cloud_name=None):
    """A Connection to the named cloud (clouds.yaml), or to OS_CLOUD / OS_* variables."""
    label = cloud_name or "from OS_CLOUD/OS_* environment"
    _quiet_discovery_warnings()
    try:
        conn = openstack.connect(cloud=cloud_name) if cloud_name else openstack.connect()
        conn.authorize()
    except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as err:
        hint = ""
        if isinstance(err, _CONFIG_ERRORS) and not cloud_name:
            hint = "; pass --os-cloud NAME (clouds.yaml) or set OS_CLOUD"
        raise exception.CloudUnavailable(cloud=label, reason=_one_line(err) + hint) from err
    return conn


_CONFIG_ERRORS = (sdk_exceptions.ConfigException, ks_exceptions.MissingRequiredOptions,
                  ks_exceptions.MissingAuthPlugin)


def _quiet_discovery_warnings():
    """keystoneauth warns before the error we report anyway; keep it for --debug."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("keystoneauth").setLevel(logging.ERROR)


def _one_line(err):
    text = " ".join(str(err).split())
    # requests' connection errors repeat the URL with the whole urllib3 chain.
    text = text.split(": HTTPConnectionPool(")[0].split(": HTTPSConnectionPool(")[0]
    return text[:300] or type(err).__name__


def _http_error(response):
    """'HTTP <code>: <detail>' from an OpenStack error body (placement's or glance's)."""
    try:
        body = response.json()
        errors = body.get("errors") or [body]
        detail = errors[0].get("detail") or errors[0].get("message") or response.text
    except (ValueError, AttributeError, IndexError):
        detail = response.text
    detail = " ".join(str(detail).split()).replace(
        "The server could not comply with the request since it is either malformed or "
        "otherwise incorrect. ", "").replace("The resource could not be found. ", "")
    return "HTTP %s: %s" % (response.status_code, detail[:300])


class Cloud:
    """Read the targeting-relevant state of one cloud and carry out Changes."""

    def __init__(self, conn):
        self.conn = conn

    # --- reading ----------------------------------------------------------------------

    def state(self, hosts=()):
        """The cloud's flavors, images, aggregates and the providers of ``hosts``."""
        try:
            return model.CloudState(
                flavors=tuple(self._flavors()), images=tuple(self._images()),
                aggregates=tuple(self._aggregates()),
                providers=tuple(self._providers(set(hosts))) if hosts else (),
                traits=frozenset(self._custom_traits()) if hosts else frozenset())
        except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as err:
            raise exception.CloudUnavailable(cloud=self._name(), reason=_one_line(err)) \
                from err

    def _name(self):
        return getattr(self.conn.config, "name", None) or "(environment)"

    def _flavors(self):
        for flavor in self.conn.compute.flavors(details=True, get_extra_specs=True,
                                                is_public=None):
            yield model.Flavor(id=flavor.id, name=flavor.name,
                               extra_specs=dict(flavor.extra_specs or {}))

    def _images(self):
        for image in self.conn.image.images():
            properties = dict(image.properties or {})
            if image.hypervisor_type:
                properties[model.LEGACY_HV_TYPE] = image.hypervisor_type
            yield model.Image(id=image.id, name=image.name or "",
                              container_format=image.container_format or "",
                              disk_format=image.disk_format or "", properties=properties)

    def _aggregates(self):
        for aggregate in self.conn.compute.aggregates():
            yield model.Aggregate(id=str(aggregate.id), name=aggregate.name,
                                  hosts=tuple(aggregate.hosts or ()),
                                  metadata=dict(aggregate.metadata or {}))

    def _providers(self, hosts):
        for hypervisor in self.conn.compute.hypervisors(details=True):
            host = (hypervisor.service_details or {}).get("host")
            if host in hosts:
                traits, _ = self._provider_traits(hypervisor.id)
                yield model.Provider(uuid=hypervisor.id, name=hypervisor.name, host=host,
                                     traits=frozenset(traits))

    def _custom_traits(self):
        names = ",".join(side.trait for side in model.SIDES.values())
        body = self._placement("GET", "/traits?name=in:%s" % names)
        return body.get("traits", [])

    def _provider_traits(self, uuid):
        body = self._placement("GET", "/resource_providers/%s/traits" % uuid)
        return body["traits"], body["resource_provider_generation"]

    def _placement(self, method, path, body=None, ok=(200,)):
        response = self.conn.placement.request(
            path, method, json=body, microversion=PLACEMENT_TRAITS_MICROVERSION,
            raise_exc=False)
        if response.status_code not in ok:
            raise exception.TargetingFailed(
                action="%s placement" % method, target=path,
                reason=_http_error(response))
        return response.json() if response.content else {}

    # --- changing ---------------------------------------------------------------------

    def apply(self, change):
        """Carry out one model.Change."""
        LOG.debug("Applying %s", change.description)
        try:
            getattr(self, "_do_%s" % change.action)(*change.args)
        except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as err:
            raise exception.TargetingFailed(action=change.action.replace("_", " "),
                                            target=change.target,
                                            reason=_hint(change, err)) from err

    def _do_create_trait(self, trait):
        self._placement("PUT", "/traits/%s" % trait, ok=(201, 204))

    def _do_set_provider_traits(self, uuid, add, remove):
        for _ in range(_GENERATION_RETRIES):
            traits, generation = self._provider_traits(uuid)
            wanted = sorted((set(traits) | set(add)) - set(remove))
            response = self.conn.placement.request(
                "/resource_providers/%s/traits" % uuid, "PUT",
                json={"traits": wanted, "resource_provider_generation": generation},
                microversion=PLACEMENT_TRAITS_MICROVERSION, raise_exc=False)
            if response.status_code == 200:
                return
            if response.status_code != 409:
                raise exception.TargetingFailed(
                    action="set traits of", target=uuid, reason=_http_error(response))
            LOG.debug("Provider %s changed under us (generation %s); retrying", uuid,
                      generation)
        raise exception.TargetingFailed(action="set traits of", target=uuid, reason=(
            "its generation kept changing (nova-compute updating it?); run apply again"))

    def _do_create_aggregate(self, name):
        self.conn.compute.create_aggregate(name=name)

    def _aggregate(self, name):
        return self.conn.compute.find_aggregate(name, ignore_missing=False)

    def _do_set_aggregate_metadata(self, name, items):
        self.conn.compute.set_aggregate_metadata(self._aggregate(name), **dict(items))

    def _do_add_host(self, name, host):
        self.conn.compute.add_host_to_aggregate(self._aggregate(name), host)

    def _do_remove_host(self, name, host):
        self.conn.compute.remove_host_from_aggregate(self._aggregate(name), host)

    def _do_set_flavor_specs(self, flavor_id, items):
        self.conn.compute.create_flavor_extra_specs(flavor_id, dict(items))

    def _do_unset_flavor_spec(self, flavor_id, key):
        self.conn.compute.delete_flavor_extra_specs_property(flavor_id, key)

    def _do_set_image_property(self, image_id, key, value):
        # A plain JSON patch touching only this key: the SDK's update_image diffs the
        # whole resource and can drop properties it did not load.
        image = self.conn.image.get_image(image_id)
        present = key in (image.properties or {})
        response = self.conn.image.patch(
            "/images/%s" % image_id,
            json=[{"op": "replace" if present else "add", "path": "/%s" % key,
                   "value": value}],
            headers={"Content-Type": JSON_PATCH}, raise_exc=False)
        if response.status_code != 200:
            raise exception.TargetingFailed(
                action="set %s on image" % key, target=image_id,
                reason=_http_error(response))


def _hint(change, err):
    reason = _one_line(err)
    if change.action == "add_host" and isinstance(err, sdk_exceptions.NotFoundException):
        reason += ("; is %s a nova-compute service host here? (openstack compute service "
                   "list)" % change.args[1])
    return reason
