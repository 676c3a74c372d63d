"""Silver on the real stack: every generated record ends in exactly the place the ledger says it should, whether it
came through Kafka or a CSV file, in one batch or many, with or without a kill -9 in between."""

import itertools
from collections import Counter

import pyspark.sql.functions as F
import pytest

from retail.cassandra import SALES_PER_MINUTE, TABLE_OF_ENTITY, CassandraTarget
from retail.contracts import CONTRACTS
from retail.generator import GeneratorConfig, generate
from retail.generator.csv_files import write_csv
from retail.jobs import silver_targets, start_stream
from retail.kafka import ensure_topics, produce, read_ledger
from spark.bronze.job import ingest_csv
from spark.silver.job import SilverTargets, outstanding_quarantine

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
# A CSV file cannot hold a payload that is not a row: those lines are ragged, and that is their reason.
CSV_REASON = {**REASON, "malformed_json": "ragged_row", "unknown_field": "ragged_row"}


def records_of(n: int, seed: int) -> list:
    return list(itertools.islice(generate(GeneratorConfig(seed=seed, bad_fraction=0.05)), n))


def send(settings, records, ledger) -> dict[tuple, str]:
    """Produces ``records``; returns the kind of each by where Kafka put it (topic, partition, offset)."""
    ensure_topics(settings)
    assert produce(records, settings, ledger).acked == len(records)
    return {(e.topic, e.partition, e.offset): records[e.seq].kind for e in read_ledger(ledger)}


def catch_up(spark, settings) -> None:
    query = start_stream(spark, settings, trigger_seconds=None, silver=True)
    query.awaitTermination()
    assert query.exception() is None


def test_silver_and_quarantine_hold_exactly_what_the_ledger_says(isolated, spark, tmp_path):
    records = records_of(4000, seed=21)
    kind_at = send(isolated, records, tmp_path / "ledger.jsonl")

    catch_up(spark, isolated)

    assert_matches_ledger(spark, isolated, records, kind_at)


def test_the_same_after_kill_9_mid_run_and_a_restart(isolated, spark, tmp_path, kill_stream_mid_run):
    records = records_of(6000, seed=22)
    kind_at = send(isolated, records, tmp_path / "ledger.jsonl")

    kill_stream_mid_run(isolated, "--silver", committed=2)
    catch_up(spark, isolated)

    commits = spark.read.parquet(isolated.lake_uri("_audit", "batch_counts")).select("batch_id").distinct().count()
    assert commits > 2, "the kill came after the whole run: nothing was tested"
    assert_matches_ledger(spark, isolated, records, kind_at)


def test_purchases_before_their_customers_wait_in_quarantine_and_are_released(isolated, spark, tmp_path):
    records = records_of(2000, seed=23)
    purchases = [r for r in records if r.entity == "purchases"]
    others = [r for r in records if r.entity != "purchases"]

    kind_at = send(isolated, purchases, tmp_path / "purchases.jsonl")
    catch_up(spark, isolated)
    waiting = outstanding_quarantine(spark, targets(isolated)).where(F.array_contains("reasons", "unknown_customer"))
    assert waiting.count() == sum(r.kind in ACCEPTED | {"unknown_customer"} for r in purchases)

    kind_at |= send(isolated, others, tmp_path / "others.jsonl")
    catch_up(spark, isolated)

    assert_matches_ledger(spark, isolated, records, kind_at)


def test_csv_files_go_through_the_same_silver(isolated, spark, tmp_path):
    records = records_of(3000, seed=24)
    files, lines = write_csv(records, tmp_path, "batch")
    roots = {"landing_root": isolated.lake_uri("landing", "csv"), "bronze_root": isolated.lake_uri("bronze", "csv")}
    by_entity = {f.name.removesuffix(".csv").removeprefix("batch-"): f for f in files}

    reports = [
        ingest_csv(spark, by_entity[entity], entity, **roots, silver=silver_targets(isolated))
        for entity in ("purchases", "customers", "clickstream", "purchases")  # purchases first, and twice
    ]

    assert reports[-1].already_ingested and reports[-1].silver == reports[0].silver
    assert reports[1].silver["purchases"]["released"] > 0, "the customers' file released no waiting purchase"
    kind_at = {(line.file, 0, line.line_number): line.kind for line in lines}
    assert_matches_ledger(spark, isolated, records, kind_at, CSV_REASON)


def targets(settings) -> SilverTargets:
    return SilverTargets.under(settings.lake_uri())


def assert_matches_ledger(spark, isolated, records, kind_at, reasons=REASON) -> None:
    """Silver holds exactly the accepted records, the outstanding quarantine exactly the bad ones with their
    reasons (every record found by its lineage: bad payloads may have no readable event id), the recorded counts
    add up, and Cassandra holds what silver holds."""
    silver = []
    for entity in CONTRACTS:
        rows = (
            spark.read.parquet(isolated.lake_uri("silver", entity))
            .select("event_id", "topic", "partition", "offset")
            .collect()
        )
        assert len(rows) == len({r.event_id for r in rows}), f"{entity}: an event id twice in silver"
        silver += [(r.topic, r.partition, r.offset) for r in rows]
    quarantine = outstanding_quarantine(spark, targets(isolated)).select("reasons", "topic", "partition", "offset")
    quarantine = quarantine.collect()

    assert sorted(silver) == sorted(at for at, kind in kind_at.items() if kind in ACCEPTED)
    assert sorted((r.topic, r.partition, r.offset) for r in quarantine) == sorted(
        at for at, kind in kind_at.items() if kind in reasons
    )
    for row in quarantine:
        kind = kind_at[(row.topic, row.partition, row.offset)]
        family = {"missing_field": "missing_field:", "wrong_type": "wrong_type:"}.get(kind)
        if family:
            assert len(row.reasons) == 1 and row.reasons[0].startswith(family), (kind, row.reasons)
        else:
            assert list(row.reasons) == [reasons[kind]], (kind, row.reasons)
    assert_counts_add_up(spark, isolated, records)
    assert_cassandra_matches_silver(spark, isolated)


def assert_counts_add_up(spark, isolated, records) -> None:
    counts = (
        spark.read.parquet(isolated.lake_uri("_audit", "batch_counts"))
        .groupBy("entity")
        .agg(*(F.sum(c).alias(c) for c in ("bronze_in", "released", "silver", "quarantined", "duplicate")))
    )
    per_entity = Counter(r.entity for r in records)
    removed = Counter(r.entity for r in records if r.kind in REMOVED)
    for row in counts.collect():
        assert row.bronze_in == per_entity[row.entity]
        assert row.bronze_in + row.released == row.silver + row.quarantined + row.duplicate
        assert row.duplicate == removed[row.entity]


def assert_cassandra_matches_silver(spark, isolated) -> None:
    cassandra = CassandraTarget.from_settings(isolated).connect()
    try:
        session = cassandra.connect(isolated.cassandra_keyspace)
        for entity, table in TABLE_OF_ENTITY.items():
            stored = session.execute(f"SELECT COUNT(*) FROM {table.name}").one()[0]
            assert stored == spark.read.parquet(isolated.lake_uri("silver", entity)).count(), table.name
        purchases = spark.read.parquet(isolated.lake_uri("silver", "purchases"))
        minutes = purchases.select(F.date_trunc("minute", "purchase_date")).distinct().count()
        revenue = purchases.agg(F.sum("total_amount")).first()[0]
        sales = session.execute(f"SELECT minute, revenue FROM {SALES_PER_MINUTE.name}").all()
        assert (len({r.minute for r in sales}), sum(r.revenue for r in sales)) == (minutes, revenue)
    finally:
        cassandra.shutdown()
