"""The write timestamps that let the serving query and the silver path write the same tables in any order."""

import pytest

from retail.cassandra.writer import Write, write_timestamp
from spark.silver.transforms import CSV_CLOCK_BASE


@pytest.mark.parametrize(("first", "later"), [(0, 1), (499, 500), (10**9, 10**9 + 1)])
def test_the_first_occurrence_outranks_a_later_one_with_every_correction(first, later):
    original = write_timestamp(first, Write.SERVING)

    assert original > write_timestamp(later, Write.SERVING)  # a re-send never overwrites its original
    assert original > write_timestamp(later, Write.DELETE)  # removing a conflicting re-send keeps the original
    assert original > write_timestamp(later, Write.RELEASE)


def test_corrections_of_one_row_order_silver_serving_delete_release():
    stamps = [write_timestamp(41, w) for w in (Write.SILVER, Write.SERVING, Write.DELETE, Write.RELEASE)]

    assert stamps == sorted(stamps) and len(set(stamps)) == 4


def test_csv_rows_come_after_every_kafka_offset_and_stay_positive():
    last_csv = CSV_CLOCK_BASE + 4_102_444_800 * (1 << 24) + (1 << 24) - 1  # year 2100, the last line of its second

    assert write_timestamp(CSV_CLOCK_BASE, Write.RELEASE) < write_timestamp(CSV_CLOCK_BASE - 1, Write.SILVER)
    assert write_timestamp(last_csv, Write.SILVER) > 0
