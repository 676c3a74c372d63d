from datetime import datetime

import pyspark.sql.functions as F
import pytest
from pyspark.testing import assertDataFrameEqual

from retail.contracts import CUSTOMERS
from spark.bronze.transforms import KAFKA_BRONZE_COLUMNS, csv_lines_to_bronze, kafka_to_bronze

KAFKA_SCHEMA = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"


def test_kafka_records_keep_their_bytes_and_lineage(spark):
    ts = datetime(2026, 1, 1, 12, 0)
    records = spark.createDataFrame(
        [
            (b"C1", b'{"event_id":"e1"}', "t-customers", 0, 10, ts),
            (b"C1", b"\xff\xfe not json", "t-purchases", 2, 11, ts),
            (None, b"{}", "t-clickstream", 1, 12, ts),
            (b"x", b"{}", "t-unrelated", 0, 1, ts),
        ],
        KAFKA_SCHEMA,
    )

    bronze = kafka_to_bronze(records, topic_prefix="t-")

    assert tuple(bronze.columns) == KAFKA_BRONZE_COLUMNS
    assertDataFrameEqual(
        bronze.select("entity", "key", "value", "topic", "partition", "offset", "kafka_timestamp"),
        [
            ("customers", b"C1", b'{"event_id":"e1"}', "t-customers", 0, 10, ts),
            ("purchases", b"C1", b"\xff\xfe not json", "t-purchases", 2, 11, ts),
            ("clickstream", None, b"{}", "t-clickstream", 1, 12, ts),
            (None, b"x", b"{}", "t-unrelated", 0, 1, ts),
        ],
    )
    assert bronze.where(F.col("ingest_date") != F.to_date("ingested_at")).count() == 0


@pytest.mark.parametrize(
    ("line", "parse_error", "email"),
    [
        ("e1,C1,Ann Lee,ann@x.com,DE,2026-01-01T00:00:00Z", None, "ann@x.com"),
        ('e2,C2,"Lee, Ann",ann@x.com,DE,2026-01-01T00:00:00Z', None, "ann@x.com"),
        ("e3,C3,,,DE,2026-01-01T00:00:00Z", None, None),
        ("garbled,e4", "ragged_row", None),
        ("e5,C5,Ann,ann@x.com,DE,2026-01-01T00:00:00Z,gold", "ragged_row", "ann@x.com"),
        ("   ", "blank_line", None),
    ],
)
def test_csv_lines_land_raw_with_what_kept_them_from_parsing(spark, line, parse_error, email):
    lines = spark.createDataFrame([("header", 1), (line, 2)], "value string, line_number int")

    row = csv_lines_to_bronze(lines, CUSTOMERS, "/drop/customers.csv").collect()

    assert len(row) == 1
    assert (row[0]["parse_error"], row[0]["email"], row[0]["raw_line"]) == (parse_error, email, line)
    assert (row[0]["source_file"], row[0]["line_number"], row[0]["entity"]) == ("/drop/customers.csv", 2, "customers")


def test_csv_line_with_invalid_utf8_is_flagged(spark):
    lines = spark.createDataFrame(
        [(b"h", 1), (b"e1,C1,\xff\xfeAnn,a@x.com,DE,2026-01-01", 2)], "raw binary, line_number int"
    )

    bronze = csv_lines_to_bronze(
        lines.select(F.col("raw").cast("string").alias("value"), "line_number"), CUSTOMERS, "f"
    )

    assert [r["parse_error"] for r in bronze.collect()] == ["invalid_utf8"]
