"""Gold on the real stack: dbt builds it from silver on HDFS, every dbt test passes, and the headline figures
equal an independent recomputation from silver with Spark."""

from collections import Counter
from decimal import Decimal

import duckdb
import pyspark.sql.functions as F
import pytest

from retail.gold import MARTS, build_gold, current

pytestmark = pytest.mark.integration


def segment(orders: int) -> str:
    return "No Purchases" if orders == 0 else "One-time" if orders == 1 else "Regular" if orders < 5 else "Frequent"


def test_gold_headline_equals_a_recomputation_from_silver(silver_lake, spark):
    settings = silver_lake

    build = build_gold(settings)  # raises unless every model and dbt test passed

    purchases = spark.read.parquet(settings.lake().silver("purchases"))
    customers = spark.read.parquet(settings.lake().silver("customers"))
    per_day = purchases.groupBy(F.to_date("purchase_date").alias("day")).agg(F.sum("total_amount").alias("revenue"))
    orders = {r.customer_id: r.n for r in purchases.groupBy("customer_id").agg(F.count("*").alias("n")).collect()}
    all_customers = [r.customer_id for r in customers.select("customer_id").collect()]
    figures = build.headline

    assert figures["revenue_per_day"] == {str(r.day): r.revenue for r in per_day.collect()}
    assert figures["orders_per_customer"] == orders
    assert figures["customers_per_segment"] == dict(Counter(segment(orders.get(c, 0)) for c in all_customers))
    assert figures["revenue"] == purchases.agg(F.sum("total_amount")).first()[0] > Decimal(0)
    assert figures["orders"] == purchases.count()


def test_gold_is_exported_published_and_rebuilt_the_same(silver_lake):
    settings = silver_lake

    first = build_gold(settings)
    second = build_gold(settings)

    assert current(settings) == second.path != first.path
    assert second.headline == first.headline
    assert (second.path / "docs" / "index.html").exists() and (second.path / "docs" / "catalog.json").exists()
    with duckdb.connect() as db:
        for mart in MARTS:
            parquet = db.execute(f"select count(*) from '{second.path / 'parquet' / mart}.parquet'").fetchone()[0]
            csv = db.execute(f"select count(*) from read_csv('{second.path / 'csv' / mart}.csv')").fetchone()[0]
            assert parquet == csv == second.rows[mart] > 0, mart
