"""The fresh path on real Kafka, Spark and Cassandra: in real-time mode every record reaches its serving table while
the real-time batch that read it still runs (no batch boundary in between), the writer's freshness records count
every row it wrote, and running it again rewrites the same cells."""

import itertools
import time
from collections import Counter

import pytest

from retail.cassandra import SERVING_PROGRESS, TABLE_OF_ENTITY, CassandraTarget
from retail.composition import start_serving
from retail.generator import GeneratorConfig, generate
from retail.kafka import ensure_topics, produce
from retail.lake import SERVING_QUERY

pytestmark = pytest.mark.integration


def stored(settings) -> tuple[Counter, int]:
    """Returns the rows of each entity's serving table, and the rows the writer's freshness records count."""
    cluster = CassandraTarget.from_settings(settings).connect()
    try:
        session = cluster.connect(settings.cassandra_keyspace)
        rows = Counter(
            {e: session.execute(f"SELECT COUNT(*) FROM {t.name}").one()[0] for e, t in TABLE_OF_ENTITY.items()}
        )
        progress = session.execute(f"SELECT rows FROM {SERVING_PROGRESS.name} WHERE query = %s", (SERVING_QUERY,))
        return rows, sum(r.rows for r in progress)
    finally:
        cluster.shutdown()


def wait_for(settings, expected: Counter, query, deadline_s: float) -> None:
    ends = time.monotonic() + deadline_s
    while True:
        assert query.exception() is None, query.exception()
        rows, recorded = stored(settings)
        if rows == expected and recorded >= expected.total():
            return
        assert time.monotonic() < ends, f"Cassandra holds {dict(rows)} (recorded {recorded}), expected {dict(expected)}"
        time.sleep(1)


def test_real_time_mode_writes_every_record_before_its_batch_ends_and_again_the_same(
    isolated, spark, tmp_path, deadline
):
    settings = isolated.model_copy(update={"serving_batch_s": 3600})  # one real-time batch for the whole test
    records = list(itertools.islice(generate(GeneratorConfig(seed=17)), 900))  # all valid: one row each
    expected = Counter(r.entity for r in records)
    ensure_topics(settings)
    query = start_serving(spark, settings)
    try:
        assert produce(records, settings, tmp_path / "ledger.jsonl").acked == len(records)
        wait_for(settings, expected, query, deadline(300))
        # Written and counted while the batch that read them runs: real-time mode, not micro-batches.
        assert query.lastProgress is None, query.lastProgress
    finally:
        query.stop()

    # From the start again (a lost checkpoint): the same rows, none twice.
    replay = settings.model_copy(update={"lake_path": f"{settings.lake_path}-replay"})
    query = start_serving(spark, replay)
    try:
        wait_for(settings, expected, query, deadline(300))
        time.sleep(2)  # anything beyond the expected rows would show now
        assert stored(settings)[0] == expected
    finally:
        query.stop()
