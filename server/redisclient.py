"""The Redis client the service runs on: one node, or a Redis Cluster, as CITYGATE_REDIS_URL says.

`redis://host:port/db` (or `rediss://`, `unix://`) is one node (a primary, or a Sentinel-managed
address). `redis+cluster://host:port[,host:port...]` (or `rediss+cluster://`, with `user:password@`
as usual) is a Redis Cluster: the nodes listed are only where the client starts; it learns the rest
from the cluster and follows MOVED/ASK redirections itself. The domain uses both alike (key names
that must share a slot carry one hash tag: models/core/redisio.py).
"""

from __future__ import annotations

import urllib.parse

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
# Every Redis call is bounded: a stopped or partitioned Redis makes requests fail fast (503) instead of
# holding connections; redis-py reconnects on its own once it answers again.
SOCKET_TIMEOUT_SECONDS = 3
MAX_CONNECTIONS = 64  # per process: a burst beyond it waits for a free connection (blocking pool)
# The cluster client's pool per node does not wait: past its size a call fails (MaxConnectionsError,
# a 503). So it is sized for a burst of requests in flight in one process, each needing a connection.
CLUSTER_MAX_CONNECTIONS_PER_NODE = 256
# A cluster call that meets a down node, MOVED or CLUSTERDOWN retries with the slot map refreshed: a
# few times within about a second (redis-py's default, 10 tries up to 1 s apart, with the socket
# timeout on each, would hold a request half a minute), then the request answers 503.
CLUSTER_RETRIES = 3


def is_cluster_url(url: str) -> bool:
    return url.partition("://")[0] in CLUSTER_SCHEMES


def cluster_nodes(url: str) -> tuple[list[tuple[str, int]], dict[str, str | bool]]:
    """The seed nodes of a `redis+cluster://` URL and the connection options it carries."""
    scheme, _, rest = url.partition("://")
    netloc = rest.partition("/")[0]
    userinfo, _, hosts = netloc.rpartition("@")
    options: dict[str, str | bool] = {}
    if userinfo:
        username, _, password = userinfo.partition(":")
        if username:
            options["username"] = urllib.parse.unquote(username)
        if password:
            options["password"] = urllib.parse.unquote(password)
    if scheme == "rediss+cluster":
        options["ssl"] = True
    nodes = []
    for host_port in filter(None, hosts.split(",")):
        host, _, port = host_port.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"cluster node {host_port!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    if not nodes:
        raise ValueError("a redis+cluster:// URL names at least one host:port")
    return nodes, options


def open_redis(url: str) -> Redis | RedisCluster:
    """A client for `url` (connections open on first use)."""
    if is_cluster_url(url):
        nodes, options = cluster_nodes(url)
        retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=CLUSTER_RETRIES)
        return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes], decode_responses=True,
                            retry=retry,
                            socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
                            max_connections=CLUSTER_MAX_CONNECTIONS_PER_NODE, **options)  # type: ignore[arg-type]
    # A blocking pool makes a burst beyond max_connections wait for a free connection instead of
    # failing the request ("Too many connections"), which the default pool does.
    pool = BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=5, decode_responses=True,
                                           socket_timeout=SOCKET_TIMEOUT_SECONDS,
                                           socket_connect_timeout=SOCKET_TIMEOUT_SECONDS)
    return Redis(connection_pool=pool)
