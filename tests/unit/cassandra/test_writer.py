"""The write timestamps that let the serving query and the silver path write the same tables in any order, and an
operator overrule both with a plain CQL statement."""

import time
from datetime import UTC, datetime

import pytest

from retail.cassandra.writer import ANCHOR_US, CLOCKS, KAFKA_OFFSETS, OLDEST_US, Write, write_timestamp
from spark.silver.transforms import CSV_LINES_PER_SECOND

WRITES = tuple(Write)


def csv_clock(ingested: datetime, line: int) -> int:
    """The clock ``serving_columns`` gives a CSV row (``tests/unit/spark/silver/test_serving_clock.py`` checks it)."""
    return KAFKA_OFFSETS + (int(ingested.timestamp()) - ANCHOR_US // 1_000_000) * CSV_LINES_PER_SECOND + line


EXTREME_CLOCKS = [
    0,  # the first record of a partition
    KAFKA_OFFSETS - 1,  # the last offset a partition may reach
    csv_clock(datetime(2026, 1, 1, tzinfo=UTC), 1),  # a file landed at the anchor
    csv_clock(datetime(2042, 1, 1, tzinfo=UTC), 10_000_000),  # a file of ten million lines landed in 2042
]


@pytest.mark.parametrize("clock", EXTREME_CLOCKS)
def test_every_write_timestamp_is_in_the_past_and_after_the_oldest(clock):
    now_us = time.time_ns() // 1000

    assert clock < CLOCKS
    for write in WRITES:
        assert OLDEST_US < write_timestamp(clock, write) <= ANCHOR_US < now_us  # a plain DELETE now outranks it


def test_the_oldest_write_timestamp_is_a_few_years_before_the_anchor():
    assert datetime.fromtimestamp(OLDEST_US / 1e6, UTC) > datetime(2021, 7, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "later"),
    [
        (0, 1),
        (499, 500),
        (10**9, 10**9 + 1),
        (KAFKA_OFFSETS - 1, csv_clock(datetime(2026, 1, 1, tzinfo=UTC), 1)),  # a Kafka record before any CSV row
        (csv_clock(datetime(2026, 3, 1, tzinfo=UTC), 7), csv_clock(datetime(2026, 3, 1, tzinfo=UTC), 8)),
        # an earlier file's last line before a later file's first (a file landed 1 s later, of up to 65,536 lines)
        (csv_clock(datetime(2026, 3, 1, tzinfo=UTC), 65_535), csv_clock(datetime(2026, 3, 1, 0, 0, 1, tzinfo=UTC), 0)),
    ],
)
def test_the_first_occurrence_outranks_a_later_one_with_every_correction(first, later):
    for original in (write_timestamp(first, Write.SERVING), write_timestamp(first, Write.SILVER)):
        assert original > write_timestamp(later, Write.SERVING)  # a re-send never overwrites its original
        assert original > write_timestamp(later, Write.DELETE)  # removing a conflicting re-send keeps the original
        assert original > write_timestamp(later, Write.RELEASE)


@pytest.mark.parametrize("clock", EXTREME_CLOCKS)
def test_corrections_of_one_row_order_silver_serving_delete_release(clock):
    stamps = [write_timestamp(clock, w) for w in (Write.SILVER, Write.SERVING, Write.DELETE, Write.RELEASE)]

    assert stamps == sorted(stamps) and len(set(stamps)) == 4
