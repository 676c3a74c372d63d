"""The fresh path's side in Python: the rows it hands the JVM writer, the writer's configuration, and the mode the
query runs in."""

import json
import re
from datetime import UTC, datetime

import pytest

from retail.cassandra import TABLE_OF_ENTITY, TABLES_OF_ENTITY, CassandraTarget, Write, write_timestamp
from retail.contracts import CUSTOMERS
from spark.silver.serving import MICRO_BATCH, REAL_TIME, fresh_rows, serving_mode, sink_config

BRONZE_SCHEMA = (
    "entity string, value binary, topic string, partition int, offset long, kafka_timestamp timestamp, "
    "ingested_at timestamp, batch_id int"
)
GOOD = (
    b'{"event_id":"e1","customer_id":"C1","name":"A","email":"a@b.io","country":"DE",'
    b'"signup_date":"2026-02-01T00:00:00Z"}'
)
BAD = GOOD.replace(b'"a@b.io"', b'"not an email"').replace(b'"e1"', b'"e2"')
PRODUCED = datetime(2026, 6, 1, 12, 0, 0, 250000, tzinfo=UTC)


def test_a_row_that_passes_its_rules_carries_its_serving_timestamp_and_one_that_fails_none(spark):
    bronze = spark.createDataFrame(
        [
            ("customers", GOOD, "customers", 0, 41, PRODUCED, PRODUCED, 0),
            ("customers", BAD, "customers", 0, 42, PRODUCED, PRODUCED, 0),
        ],
        BRONZE_SCHEMA,
    )
    rows = {r.event_id: r for r in fresh_rows(bronze, CUSTOMERS).collect()}

    assert rows["e1"].write_timestamp == write_timestamp(41, Write.SERVING)
    assert rows["e1"].produced_ms == int(PRODUCED.timestamp() * 1000)
    assert rows["e1"].produced_at.replace(tzinfo=UTC) == PRODUCED
    assert rows["e1"].email_domain == "b.io"
    assert rows["e2"].write_timestamp is None  # failed its rules: the writer skips it, silver quarantines it


def test_the_writer_binds_each_tables_columns_then_the_write_timestamp():
    target = CassandraTarget(("127.0.0.1",), 9042, "shop", "reader", "s3cret")
    config = json.loads(sink_config(target, "dc1"))

    assert config["keyspace"] == "shop" and config["datacenter"] == "dc1" and config["password"] == "s3cret"
    assert set(config["entities"]) == set(TABLES_OF_ENTITY)
    for entity, tables in TABLES_OF_ENTITY.items():
        specs = config["entities"][entity]
        assert [s["insert"].split()[2] for s in specs] == [f"shop.{t.name}" for t in tables]
        assert tables[0] is TABLE_OF_ENTITY[entity]  # its own table first: its rows are counted by it
        for spec, table in zip(specs, tables, strict=True):
            assert spec["columns"] == list(table.bound_columns)
            assert spec["partition_key"] == list(table.partition_key)
            assert spec["insert"].count("?") == len(spec["columns"]) + 1
            assert re.search(r"USING TIMESTAMP \?$", spec["insert"]), spec["insert"]
    assert "serving_progress" in config["progress_cql"] and "USING TTL" in config["progress_cql"]


@pytest.mark.parametrize(
    ("wanted", "slots", "mode"),
    [
        (REAL_TIME, 13, REAL_TIME),
        (REAL_TIME, 11, REAL_TIME),  # a slot per partition and the two the silver stream takes
        (REAL_TIME, 10, MICRO_BATCH),  # the silver stream would wait for a slot while a real-time batch lasts
        (REAL_TIME, 8, MICRO_BATCH),  # a partition would wait for a slot forever
        (MICRO_BATCH, 13, MICRO_BATCH),
    ],
)
def test_real_time_mode_runs_only_with_a_task_slot_per_kafka_partition_and_the_rest_of_the_work(wanted, slots, mode):
    chosen, why = serving_mode(wanted, slots, kafka_partitions=9, spare=2)

    assert chosen == mode
    assert why


PURCHASE = (
    b'{"event_id":"p1","order_id":"O1","customer_id":"C1","product_id":"P1","quantity":2,"price":"2.50",'
    b'"purchase_date":"2026-02-01T10:41:59.900Z"}'
)


def test_a_purchase_row_carries_every_column_its_tables_bind_and_its_minute(spark):
    from retail.contracts import PURCHASES

    bronze = spark.createDataFrame([("purchases", PURCHASE, "purchases", 1, 7, PRODUCED, PRODUCED, 0)], BRONZE_SCHEMA)
    row = fresh_rows(bronze, PURCHASES).first()

    bound = {n for t in TABLES_OF_ENTITY["purchases"] for n in t.bound_columns}
    assert bound <= set(row.asDict())
    assert row.minute == datetime(2026, 2, 1, 10, 41)
    assert row.write_timestamp == write_timestamp(7, Write.SERVING)
