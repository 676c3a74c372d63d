"""Service clients built from settings: the one place that knows how to connect to Kafka, Cassandra and WebHDFS.
Each client that needs a service checks it answers first, so a stopped service reads as what it is, not as an
empty listing or a timeout deep in a library."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from retail.settings import Settings

if TYPE_CHECKING:
    from cassandra.cluster import Cluster
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient
    from fsspec import AbstractFileSystem


def _kafka(settings: Settings, overrides: dict[str, Any]) -> dict[str, Any]:
    servers = settings.endpoints().kafka_bootstrap_servers
    return {"bootstrap.servers": servers, **settings.kafka_security.librdkafka(), **overrides}


def kafka_admin(settings: Settings) -> AdminClient:
    """Returns an AdminClient on the configured bootstrap servers."""
    from confluent_kafka.admin import AdminClient

    return AdminClient(_kafka(settings, {}))


def kafka_producer(settings: Settings, config: dict[str, Any] | None = None) -> Producer:
    """Returns an idempotent producer (acks=all) on the configured bootstrap servers, with ``config``'s librdkafka
    properties on top."""
    from confluent_kafka import Producer

    return Producer(_kafka(settings, {"enable.idempotence": True, "acks": "all", **(config or {})}))


def kafka_consumer(settings: Settings, group: str, config: dict[str, Any] | None = None) -> Consumer:
    """Returns a consumer in ``group`` that commits nothing unless ``config`` asks (``enable.auto.commit``)."""
    from confluent_kafka import Consumer

    return Consumer(_kafka(settings, {"group.id": group, "enable.auto.commit": False, **(config or {})}))


def cassandra_cluster(settings: Settings) -> Cluster:
    """Returns a Cluster on the configured contact points, authenticated when a role is configured."""
    from retail.cassandra import CassandraTarget

    return CassandraTarget.from_settings(settings).connect()


def webhdfs(settings: Settings) -> AbstractFileSystem:
    """Returns the lake's filesystem through WebHDFS (fsspec), as the configured HDFS user; raises RuntimeError
    when the NameNode does not answer (fsspec would report that as "no files found")."""
    import fsspec

    from retail.stack import health

    url = settings.endpoints().webhdfs_url
    if not health.namenode(url):
        raise RuntimeError(f"WebHDFS at {url} does not answer: is HDFS up? (`retail stack status`)")
    parsed = urlparse(url)
    return fsspec.filesystem("webhdfs", host=parsed.hostname, port=parsed.port, user=settings.hdfs_user)
