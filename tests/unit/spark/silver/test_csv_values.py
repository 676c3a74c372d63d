"""Values as shops export them, from a landed CSV file through silver's checks on real (local) Spark: offsets are
converted to UTC, a date alone is midnight UTC, a space may stand for the T, whitespace around a value is trimmed;
anything else is a named reason, never an exception and never a silent null."""

from datetime import datetime
from decimal import Decimal

import pyspark.sql.functions as F
import pytest

from retail.contracts import PURCHASES
from spark.bronze.job import land_csv
from spark.silver.transforms import csv_records, parse_payload, typed, violations

HEADER = "order_id,customer_id,product_id,quantity,price,purchase_date"  # no event_id: silver names the event

VALUES = [
    # purchase_date, quantity, price -> (purchase_date UTC, quantity, price) or the reasons
    ("2026-03-01T10:00:00+02:00", "2", "9.99", (datetime(2026, 3, 1, 8), 2, Decimal("9.99"))),
    ("2026-03-01T10:00:00-05:30", "1", "0", (datetime(2026, 3, 1, 15, 30), 1, Decimal("0.00"))),
    ("2026-03-01 10:00:00Z", "1", "1.5", (datetime(2026, 3, 1, 10), 1, Decimal("1.50"))),
    ("2026-03-01", "1", "1", (datetime(2026, 3, 1), 1, Decimal("1.00"))),
    ("2026-03-01T10:00:00.123Z", "3", "2.50", (datetime(2026, 3, 1, 10, 0, 0, 123000), 3, Decimal("2.50"))),
    ("  2026-03-01T10:00:00Z ", " 4 ", " 5.00 ", (datetime(2026, 3, 1, 10), 4, Decimal("5.00"))),
    ("01/03/2026", "1", "1", {"wrong_type:purchase_date"}),
    ("2026-03-01T10:00:00 CET", "1", "1", (datetime(2026, 3, 1, 9), 1, Decimal("1.00"))),  # a named zone
    ("yesterday 10:00", "1", "1", {"wrong_type:purchase_date"}),
    ("2026-03-01", "1", '"9,99"', {"wrong_type:price"}),
    ("2026-03-01", "2.5", "1", {"wrong_type:quantity"}),
    ("2026-03-01", "", "1", {"missing_field:quantity"}),
]


@pytest.fixture(scope="module")
def checked(spark, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("values")
    lines = [f"O{i}, C1 ,P1,{q},{p},{d}" for i, (d, q, p, _) in enumerate(VALUES)]
    path = tmp / "export-purchases.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    lake = f"file://{tmp}/lake"
    report = land_csv(spark, path, "purchases", landing_root=f"{lake}/landing", bronze_root=f"{lake}/bronze")
    bronze = spark.read.parquet(f"{lake}/bronze").withColumn("batch_id", F.lit(report.batch_id))
    rows = violations(typed(parse_payload(csv_records(bronze, PURCHASES), PURCHASES), PURCHASES), PURCHASES)
    return {r.offset - 2: r for r in rows.collect()}  # line 2 is the first value row


@pytest.mark.parametrize(("index", "case"), list(enumerate(VALUES)), ids=[v[0] + "|" + v[2] for v in VALUES])
def test_a_value_is_read_in_utc_or_named(checked, index, case):
    row = checked[index]
    expected = case[3]
    if isinstance(expected, set):
        assert set(row.violations) == expected
    else:
        assert list(row.violations) == []
        assert (row.purchase_date, row.quantity, row.price) == expected
        assert row.customer_id == "C1" and row.event_id == PURCHASES.event_id_of({"order_id": f"O{index}"})
