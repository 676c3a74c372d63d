"""The clock ``serving_columns`` gives a Cassandra row: a Kafka record's offset, or a CSV row's place after every
offset, by its file's ingestion second and its line."""

from datetime import UTC, datetime

import pytest

from retail.cassandra.writer import KAFKA_OFFSETS
from retail.contracts import CUSTOMERS
from spark.silver.transforms import CSV_LINES_PER_SECOND, parse_payload, serving_columns, typed, violations

BRONZE_SCHEMA = (
    "entity string, value binary, topic string, partition int, offset long, kafka_timestamp timestamp, "
    "ingested_at timestamp, batch_id int"
)
PAYLOAD = (
    b'{"event_id":"e1","customer_id":"C1","name":"A","email":"a@b.io","country":"DE",'
    b'"signup_date":"2026-02-01T00:00:00Z"}'
)
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "kafka_timestamp", "ingested_at", "clock"),
    [
        (41, datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC), 41),  # Kafka: the offset
        (3, None, ANCHOR, KAFKA_OFFSETS + 3),  # CSV line 3 of a file landed at the anchor
        (3, None, datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC), KAFKA_OFFSETS + 2 * CSV_LINES_PER_SECOND + 3),
        (3, None, datetime(2024, 5, 1, tzinfo=UTC), KAFKA_OFFSETS + 3),  # landed before the anchor: counts from it
    ],
)
def test_a_row_is_clocked_by_its_offset_or_after_every_offset_by_its_files_landing(
    spark, offset, kafka_timestamp, ingested_at, clock
):
    bronze = spark.createDataFrame(
        [("customers", PAYLOAD, "customers", 0, offset, kafka_timestamp, ingested_at, 0)], BRONZE_SCHEMA
    )
    checked = violations(typed(parse_payload(bronze, CUSTOMERS), CUSTOMERS), CUSTOMERS)

    assert serving_columns(checked, CUSTOMERS).select("clock").collect()[0].clock == clock
