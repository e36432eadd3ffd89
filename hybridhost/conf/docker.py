"""[docker]: the Docker engine of the container side."""

from oslo_config import cfg

docker_group = cfg.OptGroup("docker", help="The Docker engine of the container side.")
docker_opts = [
    cfg.StrOpt("url", default="unix:///var/run/docker.sock",
               help="Docker API endpoint; with [host] manage_services, dockerd listens here "
                    "(unix sockets only)."),
    cfg.StrOpt("min_api_version", default="1.41",
               help="Oldest Docker API version hybridhost supports (Debian 12's docker.io "
                    "speaks 1.41)."),
    cfg.StrOpt("data_root", default="/var/lib/docker",
               help="dockerd --data-root when hybridhost runs dockerd."),
]
