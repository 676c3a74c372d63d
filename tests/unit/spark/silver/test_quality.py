from datetime import datetime
from decimal import Decimal

import pytest

from retail.contracts import PURCHASES
from spark.silver.quality import SilverContractError, gate

SCHEMA = (
    "event_id string, order_id string, customer_id string, product_id string, quantity int, "
    "price decimal(10,2), purchase_date timestamp"
)
T = datetime(2026, 1, 1)


def test_a_clean_batch_passes(spark):
    rows = [("e1", "O1", "C1", "P1", 2, Decimal("9.99"), T), ("e2", "O2", "C1", "P2", 1, Decimal("0.00"), T)]

    assert gate(spark.createDataFrame(rows, SCHEMA), PURCHASES).count() == 2


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        ([("e1", "O1", "C1", "P1", 0, Decimal("1.00"), T)], "quantity"),
        ([("e1", "O1", "C1", "P1", 1, Decimal("-1.00"), T)], "price"),
        ([("e1", "O1", None, "P1", 1, Decimal("1.00"), T)], "customer_id"),
        (
            [("e1", "O1", "C1", "P1", 1, Decimal("1.00"), T), ("e1", "O2", "C1", "P1", 1, Decimal("1.00"), T)],
            "event_id",
        ),
    ],
)
def test_a_batch_that_breaks_the_contract_is_refused_loudly(spark, rows, named):
    # The gate runs inside the job that computes the batch: the job fails, naming the error and the column.
    with pytest.raises(Exception, match=rf"(?s){SilverContractError.__name__}.*{named}"):
        gate(spark.createDataFrame(rows, SCHEMA), PURCHASES).count()


def test_a_column_of_another_type_than_the_contract_is_refused(spark):
    rows = [("e1", "O1", "C1", "P1", 2, Decimal("9.99"), T)]
    frame = spark.createDataFrame(rows, SCHEMA.replace("quantity int", "quantity long"))

    with pytest.raises(Exception, match=r"(?s)wrong column types.*quantity"):
        gate(frame, PURCHASES).count()
