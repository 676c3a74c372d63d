"""`stream_status` on the real stack: records wait since the oldest one the query has not read was produced, before
its first batch and after its batches read the earlier ones; nothing waits once it caught up."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from retail.composition import start_stream
from retail.generator import GeneratorConfig, generate
from retail.kafka import ensure_topics, produce
from retail.lake import BRONZE_ONLY_QUERY
from retail.stream_status import stream_status

pytestmark = pytest.mark.integration

MS = timedelta(milliseconds=1)  # Kafka keeps produce times in whole milliseconds


def test_records_wait_since_the_oldest_unread_one_was_produced(isolated, spark, tmp_path):
    records = generate(GeneratorConfig(seed=5))
    ensure_topics(isolated)
    first_sent = datetime.now(UTC)
    assert produce(itertools.islice(records, 300), isolated, tmp_path / "first.jsonl").acked == 300
    first_acked = datetime.now(UTC)
    assert produce(itertools.islice(records, 300), isolated, tmp_path / "second.jsonl").acked == 300

    unread = stream_status(isolated, BRONZE_ONLY_QUERY, waiting_since=True)

    assert unread.last_batch is None and unread.total_lag == 600
    assert first_sent - MS <= unread.waiting_since <= first_acked  # the first records, not the later ones

    query = start_stream(spark, isolated, trigger_seconds=None)  # availableNow: reads all 600, then stops
    query.awaitTermination()
    assert query.exception() is None
    caught_up = stream_status(isolated, BRONZE_ONLY_QUERY, waiting_since=True)

    assert caught_up.last_batch is not None and caught_up.total_lag == 0
    assert caught_up.waiting_since is None

    after_the_batches = datetime.now(UTC)
    assert produce(itertools.islice(records, 100), isolated, tmp_path / "third.jsonl").acked == 100

    new_ones = stream_status(isolated, BRONZE_ONLY_QUERY, waiting_since=True)

    assert new_ones.total_lag == 100
    assert after_the_batches - MS <= new_ones.waiting_since <= datetime.now(UTC)  # read at the committed offsets
