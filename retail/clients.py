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
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster

    endpoints = settings.endpoints()
    auth = None
    if settings.cassandra_username and settings.cassandra_password:
        auth = PlainTextAuthProvider(settings.cassandra_username, settings.cassandra_password.get_secret_value())
    return Cluster(
        list(endpoints.cassandra_hosts),
        port=endpoints.cassandra_port,
        auth_provider=auth,
        protocol_version=5,
        connect_timeout=10,
    )
