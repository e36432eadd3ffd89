"""oslo.messaging's RabbitMQ options: one value for every service on one bus.

With ``amqp_durable_queues`` the RPC exchanges and topic queues outlive a RabbitMQ
restart (messages are published persistent), so a cast sent after the broker is back
but before its server has reconnected waits in the queue: without it the queue is gone
until the server declares it again, and the broker drops the message.
"""


def rabbit_section(durable):
    return ("oslo_messaging_rabbit", [("amqp_durable_queues", durable)])
