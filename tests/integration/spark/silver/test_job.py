"""Silver on the real stack: every generated record ends in exactly the place the ledger says it should."""

import itertools
from collections import Counter

import pyspark.sql.functions as F
import pytest

from retail.cassandra import SALES_PER_MINUTE, TABLE_OF_ENTITY, CassandraTarget
from retail.cli.bronze import start_stream
from retail.contracts import CONTRACTS
from retail.generator import GeneratorConfig, generate
from retail.kafka import ensure_topics, produce, read_ledger

pytestmark = pytest.mark.integration

ACCEPTED = {"valid", "late_event"}  # late events are real events: silver, flagged when late
REMOVED = {"exact_duplicate"}
REASON = {  # what the quarantine says of each bad kind; None: one rule of that family, named by field
    "malformed_json": "malformed_json",
    "invalid_utf8": "invalid_utf8",
    "unknown_field": "unknown_field",
    "oversized_value": "oversized_value",
    "future_timestamp": "future_timestamp",
    "invalid_email": "invalid_email",
    "nonpositive_quantity": "nonpositive_quantity",
    "negative_price": "negative_price",
    "unknown_event_type": "unknown_event_type",
    "conflicting_duplicate": "conflicting_duplicate",
    "unknown_customer": "unknown_customer",
    "missing_field": None,
    "wrong_type": None,
}


def send(settings, n: int, seed: int, ledger):
    ensure_topics(settings)
    records = list(itertools.islice(generate(GeneratorConfig(seed=seed, bad_fraction=0.05)), n))
    assert produce(records, settings, ledger).acked == len(records)
    return records


def catch_up(spark, settings) -> None:
    query = start_stream(spark, settings, trigger_seconds=None, silver=True)
    query.awaitTermination()
    assert query.exception() is None


def test_silver_and_quarantine_hold_exactly_what_the_ledger_says(isolated, spark, tmp_path):
    records = send(isolated, 4000, seed=21, ledger=tmp_path / "ledger.jsonl")

    catch_up(spark, isolated)

    assert_matches_ledger(spark, isolated, records, tmp_path / "ledger.jsonl")


def assert_matches_ledger(spark, isolated, records, ledger) -> None:
    # Every record is found by where Kafka put it: bad payloads may have no readable event id.
    kind_at = {(e.topic, e.partition, e.offset): records[e.seq].kind for e in read_ledger(ledger)}
    silver = []
    for entity in CONTRACTS:
        rows = (
            spark.read.parquet(isolated.lake_uri("silver", entity))
            .select("event_id", "topic", "partition", "offset")
            .collect()
        )
        assert len(rows) == len({r.event_id for r in rows}), f"{entity}: an event id twice in silver"
        silver += [(r.topic, r.partition, r.offset) for r in rows]
    quarantine = (
        spark.read.parquet(isolated.lake_uri("quarantine")).select("reasons", "topic", "partition", "offset").collect()
    )
    counts = (
        spark.read.parquet(isolated.lake_uri("_audit", "batch_counts"))
        .groupBy("entity")
        .agg(*(F.sum(c).alias(c) for c in ("bronze_in", "silver", "quarantined", "duplicate")))
    )

    assert sorted(silver) == sorted(at for at, kind in kind_at.items() if kind in ACCEPTED)
    assert sorted((r.topic, r.partition, r.offset) for r in quarantine) == sorted(
        at for at, kind in kind_at.items() if kind in REASON
    )
    for row in quarantine:
        kind = kind_at[(row.topic, row.partition, row.offset)]
        family = {"missing_field": "missing_field:", "wrong_type": "wrong_type:"}.get(kind)
        if family:
            assert len(row.reasons) == 1 and row.reasons[0].startswith(family), (kind, row.reasons)
        else:
            assert list(row.reasons) == [REASON[kind]], (kind, row.reasons)
    cassandra = CassandraTarget.from_settings(isolated).connect()
    try:
        session = cassandra.connect(isolated.cassandra_keyspace)
        for entity, table in TABLE_OF_ENTITY.items():
            stored = session.execute(f"SELECT COUNT(*) FROM {table.name}").one()[0]
            assert stored == spark.read.parquet(isolated.lake_uri("silver", entity)).count(), table.name
        purchases = spark.read.parquet(isolated.lake_uri("silver", "purchases"))
        minutes = purchases.select(F.date_trunc("minute", "purchase_date")).distinct().count()
        revenue = purchases.agg(F.sum("total_amount")).first()[0]
        sales = session.execute(f"SELECT revenue FROM {SALES_PER_MINUTE.name}").all()
        assert (len(sales), sum(r.revenue for r in sales)) == (minutes, revenue)
    finally:
        cassandra.shutdown()
    per_entity = Counter(r.entity for r in records)
    removed = Counter(r.entity for r in records if r.kind in REMOVED)
    for row in counts.collect():
        assert row.bronze_in == per_entity[row.entity] == row.silver + row.quarantined + row.duplicate
        assert row.duplicate == removed[row.entity]
