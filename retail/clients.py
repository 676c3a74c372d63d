"""Service clients built from settings: the one place that knows how to connect to Kafka and Cassandra."""

from __future__ import annotations

from typing import TYPE_CHECKING

from retail.settings import Settings

if TYPE_CHECKING:
    from cassandra.cluster import Cluster
    from confluent_kafka.admin import AdminClient


def kafka_admin(settings: Settings) -> AdminClient:
    """Returns an AdminClient on the configured bootstrap servers."""
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": settings.endpoints().kafka_bootstrap_servers})


def cassandra_cluster(settings: Settings) -> Cluster:
    """Returns a Cluster on the configured contact points, authenticated when a role is configured."""
    from retail.cassandra import CassandraTarget

    return CassandraTarget.from_settings(settings).connect()
