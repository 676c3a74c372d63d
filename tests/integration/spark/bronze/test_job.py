"""Bronze on the real stack: Kafka through Spark on the standalone master into Parquet on HDFS, and CSV files."""

import itertools
from pathlib import Path

import pyspark.sql.functions as F
import pytest
from confluent_kafka import TopicPartition

from retail.composition import start_stream
from retail.connections import kafka_admin, kafka_consumer
from retail.contracts import CONTRACTS
from retail.generator import GeneratorConfig, generate
from retail.generator.csv_files import write_csv
from retail.kafka import ensure_topics, produce, read_ledger
from retail.lake import BRONZE_ONLY_QUERY
from spark.hdfs import Lake
from spark.ingest import ingest_csv

pytestmark = pytest.mark.integration


def send(settings, n: int, seed: int, ledger: Path) -> dict[tuple[str, int, int], bytes]:
    """Produces n records; returns the value sent at each (topic, partition, offset) the ledger recorded."""
    ensure_topics(settings)
    records = list(itertools.islice(generate(GeneratorConfig(seed=seed, bad_fraction=0.1)), n))
    report = produce(records, settings, ledger)
    assert (report.acked, report.failed) == (n, 0)
    return {(e.topic, e.partition, e.offset): records[e.seq].value for e in read_ledger(ledger)}


def catch_up(spark, settings) -> None:
    query = start_stream(spark, settings, trigger_seconds=None)
    query.awaitTermination()
    assert query.exception() is None


def landed(spark, settings) -> dict[tuple[str, int, int], bytes]:
    rows = spark.read.parquet(settings.lake().bronze_kafka).select("topic", "partition", "offset", "value")
    collected = rows.collect()
    as_dict = {(r.topic, r.partition, r.offset): bytes(r.value) for r in collected}
    assert len(as_dict) == len(collected), "a Kafka record landed more than once"
    return as_dict


def test_every_record_produced_lands_in_bronze_once_byte_for_byte(isolated, spark, tmp_path):
    sent = send(isolated, 3000, seed=11, ledger=tmp_path / "ledger.jsonl")

    catch_up(spark, isolated)
    catch_up(spark, isolated)  # a second catch-up finds nothing new and adds nothing

    assert landed(spark, isolated) == sent


def test_kill_9_mid_stream_then_restart_still_lands_everything_once(isolated, spark, tmp_path, kill_stream_mid_run):
    sent = send(isolated, 6000, seed=12, ledger=tmp_path / "ledger.jsonl")

    kill_stream_mid_run(isolated, committed=3)
    killed_at = landed(spark, isolated)

    catch_up(spark, isolated)

    assert 0 < len(killed_at) < len(sent), "the kill must land mid-stream"
    assert landed(spark, isolated) == sent


def test_a_reset_checkpoint_never_replaces_what_earlier_batches_landed(isolated, spark, tmp_path):
    first = send(isolated, 2000, seed=13, ledger=tmp_path / "first.jsonl")
    catch_up(spark, isolated)
    expire(isolated)  # Kafka's retention passed: bronze is now the only copy of the first records
    Lake(spark).delete(isolated.lake().checkpoint(BRONZE_ONLY_QUERY))  # someone resets the stream

    second = send(isolated, 2000, seed=14, ledger=tmp_path / "second.jsonl")
    catch_up(spark, isolated)

    assert landed(spark, isolated) == {**first, **second}


def expire(settings) -> None:
    """Deletes every record in the entity topics, as retention would."""
    consumer = kafka_consumer(settings, "expire")
    try:
        ends = [
            TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1])
            for topic in (settings.kafka_topic_prefix + c.topic for c in CONTRACTS.values())
            for p in consumer.list_topics(topic, timeout=15).topics[topic].partitions
        ]
    finally:
        consumer.close()
    admin = kafka_admin(settings)  # held while its futures are pending
    for future in admin.delete_records(ends, request_timeout=30, operation_timeout=30).values():
        future.result(timeout=60)


def test_csv_file_lands_every_line_once_and_reingest_adds_nothing(isolated, spark, tmp_path):
    # The kinds that shape a CSV line (the rest are values bronze keeps as they are).
    shaping = ("malformed_json", "unknown_field", "invalid_utf8", "missing_field", "wrong_type")
    records = itertools.islice(generate(GeneratorConfig(seed=5, bad_fraction=0.15, bad_kinds=shaping)), 3000)
    files, lines = write_csv(records, tmp_path, "batch")
    customers = next(f for f in files if f.name == "batch-customers.csv")
    expected = [line for line in lines if line.entity == "customers"]
    assert {line.kind for line in expected} >= {"malformed_json", "unknown_field", "valid"}
    roots = {"landing_root": isolated.lake().landing_csv, "bronze_root": isolated.lake().bronze_csv}

    first = ingest_csv(spark, customers, "customers", **roots)
    again = ingest_csv(spark, customers, "customers", **roots)

    bronze = spark.read.parquet(roots["bronze_root"])
    numbers = sorted(r.line_number for r in bronze.select("line_number").collect())
    kinds = [line.kind for line in expected]
    assert (first.rows, first.already_ingested) == (len(expected), False)
    assert (again.rows, again.already_ingested, again.batch_id) == (first.rows, True, first.batch_id)
    assert numbers == sorted(line.line_number for line in expected)
    expected_errors = {
        "ragged_row": kinds.count("malformed_json") + kinds.count("unknown_field"),
        "invalid_utf8": kinds.count("invalid_utf8"),
    }
    assert first.parse_errors == {reason: n for reason, n in expected_errors.items() if n}
    assert bronze.where(F.col("parse_error").isNull() & F.col("event_id").isNull()).count() == 0


def test_damaged_files_land_what_can_be_read(isolated, spark, tmp_path):
    roots = {"landing_root": isolated.lake().landing_csv, "bronze_root": isolated.lake().bronze_csv}
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    damaged = tmp_path / "damaged.csv"
    damaged.write_bytes(
        b"event_id,order_id,customer_id,product_id,quantity,price,purchase_date\n"
        b"e1,O1,C1,P1,2,9.99,2026-01-01T00:00:00Z\n"
        b"e2,O2,C1\n"
        b"\n"
        b"e3,O3,C1,P\xff\xfe1,1,5.00,2026-01-01T00:00:00Z\n"
        b"e4,O4,C2,P2,1,5.00,2026-01-01T00:00:00Z"  # no newline at the end
    )

    nothing = ingest_csv(spark, empty, "purchases", **roots)
    report = ingest_csv(spark, damaged, "purchases", **roots)

    assert (nothing.rows, nothing.parse_errors) == (0, {})
    assert (report.rows, report.parsed, report.blank_lines) == (4, 2, 1)  # a blank line is no row: kept apart
    assert report.parse_errors == {"ragged_row": 1, "invalid_utf8": 1}
