"""Scratch namespaces: named after their owner, and the platform's own is never taken for one."""

import pytest

from retail import scratch
from retail.settings import Settings


def test_a_namespace_names_its_topics_keyspace_and_lake_folder():
    namespace = scratch.of(Settings(), "t0123456789", "/tests")

    assert (namespace.kafka_topic_prefix, namespace.cassandra_keyspace, namespace.lake_path) == (
        "t0123456789-",
        "t0123456789",
        "/tests/t0123456789",
    )


@pytest.mark.parametrize(
    "update",
    [{}, {"kafka_topic_prefix": "x-"}, {"kafka_topic_prefix": "x-", "cassandra_keyspace": "x"}],
    ids=["the platform's own", "its keyspace and lake", "its lake"],
)
def test_what_shares_anything_with_the_platforms_own_namespace_is_refused_before_any_service_is_asked(update):
    # Kafka's address points nowhere: a refusal that asked Kafka first would fail with another error.
    nowhere = Settings().model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})

    with pytest.raises(ValueError, match="not a scratch namespace"):
        scratch.remove([scratch.of(nowhere, "t0123456789", "/tests"), nowhere.model_copy(update=update)])
