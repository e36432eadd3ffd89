"""[openstack]: the control plane both computes and the agent join."""

from oslo_config import cfg

openstack_group = cfg.OptGroup("openstack", help="The control plane both computes join.")
openstack_opts = [
    cfg.StrOpt("transport_url", secret=True, default="rabbit://guest:guest@127.0.0.1:5672/",
               help="oslo.messaging transport URL (RabbitMQ)."),
    cfg.BoolOpt("amqp_durable_queues", default=False,
                help="Durable RPC exchanges and queues (oslo.messaging's "
                     "[oslo_messaging_rabbit] amqp_durable_queues, rendered for both "
                     "nova-computes, the agent and the watcher): a message sent while its "
                     "server reconnects after a RabbitMQ restart waits in its queue instead "
                     "of being dropped. It must be what every other service on the bus uses. "
                     "The lab sets it."),
    cfg.URIOpt("auth_url", default="http://127.0.0.1:5000/v3", schemes=["http", "https"],
               help="Keystone v3 endpoint."),
    cfg.StrOpt("region_name", default="RegionOne", help="Region of the services."),
    cfg.StrOpt("username", default="nova", help="Service user nova-compute authenticates as."),
    cfg.StrOpt("password", secret=True, default="",
               help="Password of the service user."),
    cfg.StrOpt("project_name", default="service", help="Project of the service user."),
    cfg.StrOpt("user_domain_name", default="Default", help="Domain of the service user."),
    cfg.StrOpt("project_domain_name", default="Default", help="Domain of the project."),
    cfg.StrOpt("interface", default="internal", choices=["public", "internal", "admin"],
               help="Which catalog endpoints to use."),
    cfg.URIOpt("glance_endpoint", schemes=["http", "https"],
               help="Override glance's catalog endpoint."),
    cfg.URIOpt("neutron_endpoint", schemes=["http", "https"],
               help="Override neutron's catalog endpoint."),
    cfg.URIOpt("placement_endpoint", schemes=["http", "https"],
               help="Override placement's catalog endpoint."),
]
