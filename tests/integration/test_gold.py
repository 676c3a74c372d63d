"""Gold on the real stack: dbt builds it from silver on HDFS, every dbt test passes, and the headline figures
equal an independent recomputation from silver with Spark."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import pyspark.sql.functions as F
import pytest

from retail.contracts import CONTRACTS
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
    with duckdb.connect(str(build.warehouse), read_only=True) as gold:
        quality = gold.execute(
            "select entity, sum(row_count) filter (outcome = 'silver'), sum(row_count) filter (outcome = 'quarantined')"
            " from daily_data_quality group by entity"
        ).fetchall()
    silver_rows = {e: spark.read.parquet(settings.lake().silver(e)).count() for e in CONTRACTS}
    assert {entity: n for entity, n, _ in quality} == silver_rows
    assert all(rejected > 0 for _, _, rejected in quality)  # 5 % bad records of every kind


def kill_a_build_midway(settings, deadline_s: float) -> Path:
    """Runs `retail gold build` in its own process group and kill -9s it once dbt is writing its new warehouse;
    returns the build folder it left."""
    builds = settings.gold_path / "builds"
    before = set(builds.iterdir())
    env = {**os.environ, "RETAIL_LAKE_PATH": settings.lake_path, "RETAIL_GOLD_PATH": str(settings.gold_path)}
    retail = str(Path(sys.executable).parent / "retail")
    build = subprocess.Popen([retail, "gold", "build"], env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + deadline_s
    try:
        while not [b for b in set(builds.iterdir()) - before if (b / "warehouse.duckdb").exists()]:
            assert build.poll() is None and time.monotonic() < deadline, "the build ended before it could be killed"
            time.sleep(0.1)
    finally:
        os.killpg(build.pid, signal.SIGKILL)
        build.wait()
    (left,) = set(builds.iterdir()) - before
    return left


def test_gold_is_exported_published_and_rebuilt_the_same_even_after_a_build_is_killed(silver_lake, deadline):
    settings = silver_lake

    first = build_gold(settings)
    killed = kill_a_build_midway(settings, deadline(300))
    published_after_the_kill = current(settings)
    second = build_gold(settings)

    assert published_after_the_kill == first.path  # readers never saw the half-built one
    assert not (killed / "parquet").exists()  # it was killed before its export
    assert current(settings) == second.path != first.path
    assert second.headline == first.headline
    assert (second.path / "docs" / "index.html").exists() and (second.path / "docs" / "catalog.json").exists()
    with duckdb.connect() as db:
        for mart in MARTS:
            parquet = db.execute(f"select count(*) from '{second.path / 'parquet' / mart}.parquet'").fetchone()[0]
            csv = db.execute(f"select count(*) from read_csv('{second.path / 'csv' / mart}.csv')").fetchone()[0]
            assert parquet == csv == second.rows[mart] > 0, mart
