"""Column expressions built once per Spark context: a batch takes the same ones as the batch before it."""

import pyspark.sql.functions as F

from retail.contracts import PURCHASES
from spark.session import per_context
from spark.silver.transforms import parse_payload


def test_columns_are_built_once_per_context_and_argument(spark):
    calls = []

    @per_context
    def build(entity: str):
        calls.append(entity)
        return F.col(entity)

    assert build("a") is build("a")
    assert build("b") is not build("a")
    assert calls == ["a", "b"]


def test_a_transform_applied_twice_gives_the_same_plan_on_its_own_input(spark):
    schema = "entity string, value binary, topic string, partition int, offset long, kafka_timestamp timestamp, "
    schema += "ingested_at timestamp, batch_id string"
    first = spark.createDataFrame([("purchases", b'{"order_id": "o1"}', "t", 0, 1, None, None, "1")], schema)
    second = spark.createDataFrame([("purchases", b'{"order_id": "o2"}', "t", 0, 2, None, None, "2")], schema)

    one, two = parse_payload(first, PURCHASES), parse_payload(second, PURCHASES)

    assert one.columns == two.columns
    assert [r["raw"]["order_id"] for r in (*one.collect(), *two.collect())] == ["o1", "o2"]
