"""A scratch namespace on the real stack: its topics, keyspace and lake folder go, and nothing else does."""

import time
import uuid

import pytest

from retail import scratch
from retail.composition import silver_targets
from retail.connections import cassandra_cluster, kafka_admin, webhdfs
from retail.kafka import ensure_topics

pytestmark = pytest.mark.integration


def _present(settings) -> tuple[list[str], bool, bool]:
    listed = kafka_admin(settings).list_topics(timeout=30).topics
    topics = [t for t in listed if t.startswith(settings.kafka_topic_prefix)]
    cluster = cassandra_cluster(settings)
    try:
        rows = cluster.connect().execute(
            "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s", [settings.cassandra_keyspace]
        )
        keyspace = bool(list(rows))
    finally:
        cluster.shutdown()
    return sorted(topics), keyspace, webhdfs(settings).exists(settings.lake_path)


def test_removing_namespaces_deletes_their_topics_keyspace_and_lake_folder_only(isolated, stack_settings, deadline):
    other = scratch.of(stack_settings, f"t{uuid.uuid4().hex[:10]}", "/tests")  # a neighbour's: it stays
    try:
        for namespace in (isolated, other):
            ensure_topics(namespace)
            silver_targets(namespace)  # the keyspace and its tables
            webhdfs(namespace).makedirs(f"{namespace.lake_path}/silver", exist_ok=True)
        assert all(len(_present(n)[0]) == 3 and all(_present(n)[1:]) for n in (isolated, other))

        removed = scratch.remove([isolated])

        # a deleted topic leaves the brokers' metadata soon after, not at once
        gone_by = time.monotonic() + deadline(60)
        while _present(isolated)[0] and time.monotonic() < gone_by:
            time.sleep(0.5)
        assert _present(isolated) == ([], False, False)
        assert len(_present(other)[0]) == 3 and all(_present(other)[1:])
        assert sum(r.startswith("topic ") for r in removed) == 3
        assert f"keyspace {isolated.cassandra_keyspace}" in removed
    finally:
        scratch.remove([other])
