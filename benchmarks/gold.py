"""Benchmark of the gold build on a generated dataset; prints figures, asserts nothing. Needs no running stack.

    .venv/bin/python benchmarks/gold.py [--purchases 1000000] [--workdir /tmp/retail-gold-bench]

1. The generator's records (5 % bad) until it has made ``--purchases`` valid purchases, written as bronze-shaped
   Parquet in chunks;
2. each chunk through the real silver job as one batch (Spark local[2], local files, no Cassandra);
3. gold built from that silver with dbt-duckdb (target local): dbt build with every test, docs, export, publish.

Figures: the gold build time, against a baseline measured in the same run: one DuckDB scan that reads every silver
table once (count and sum), so the ratio says what the models and tests cost over reading the data.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from retail.contracts import CONTRACTS, PURCHASES
from retail.generator import GeneratorConfig, generate
from retail.settings import Settings

BRONZE = pa.schema(
    [
        ("entity", pa.string()),
        ("value", pa.binary()),
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("kafka_timestamp", pa.timestamp("us", "UTC")),
        ("ingested_at", pa.timestamp("us", "UTC")),
    ]
)


def write_bronze(folder: Path, purchases: int, chunk: int) -> tuple[int, int]:
    """Writes bronze-shaped Parquet chunks until ``purchases`` valid purchases were made; returns (records, chunks)."""
    folder.mkdir(parents=True)
    now = datetime.now(UTC)
    # The generator's clock moves about 5 days per 20,000 records; start early enough that the whole dataset lies
    # in the past, or silver rightly quarantines the rest as future timestamps.
    start = now - timedelta(days=purchases * 10 // 4000 + 30)
    records = generate(GeneratorConfig(seed=7, bad_fraction=0.05, start=start))
    made, total, chunks = 0, 0, 0
    while made < purchases:
        batch = list(itertools.islice(records, chunk))
        made += sum(r.entity == PURCHASES.entity and r.kind == "valid" for r in batch)
        table = pa.table(
            {
                "entity": [r.entity for r in batch],
                "value": [r.value for r in batch],
                "topic": [f"bench-{r.entity}" for r in batch],
                "partition": [0] * len(batch),
                "offset": list(range(total, total + len(batch))),
                "kafka_timestamp": [now] * len(batch),
                "ingested_at": [now] * len(batch),
            },
            schema=BRONZE,
        )
        pq.write_table(table, folder / f"chunk-{chunks:04d}.parquet")
        total, chunks = total + len(batch), chunks + 1
    return total, chunks


def main() -> None:
    """Runs the benchmark and prints its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=1_000_000, help="records per silver batch")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/retail-gold-bench"))
    parser.add_argument("--reuse-bronze", action="store_true", help="keep the bronze chunks of an earlier run")
    args = parser.parse_args()
    bronze, lake = args.workdir / "bronze", args.workdir / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    shutil.rmtree(args.workdir / "gold", ignore_errors=True)

    began = time.perf_counter()
    if args.reuse_bronze and bronze.is_dir():
        records = sum(pq.ParquetFile(f).metadata.num_rows for f in bronze.glob("*.parquet"))
        print(f"reusing {records:,} bronze records in {bronze}", flush=True)
    else:
        shutil.rmtree(bronze, ignore_errors=True)
        records, chunks = write_bronze(bronze, args.purchases, args.chunk)
        print(f"generated {records:,} records in {chunks} chunks in {time.perf_counter() - began:.0f} s", flush=True)

    import pyspark.sql.functions as F

    from retail.lake import LakeLayout
    from spark.session import build_session
    from spark.silver.job import SilverTargets, process_batch

    # Local mode runs the executors inside the driver JVM: give it the memory a 1M-record batch needs.
    spark = build_session("bench-gold-silver", "local[2]", conf={"spark.driver.memory": "6g"})
    spark.sparkContext.setLogLevel("ERROR")
    targets = SilverTargets.under(LakeLayout(lake.resolve().as_uri()))
    began = time.perf_counter()
    for i, path in enumerate(sorted(bronze.glob("*.parquet"))):
        batch = spark.read.parquet(path.resolve().as_uri()).withColumn("batch_id", F.lit(str(i)))
        process_batch(spark, batch, str(i), targets)
    silver_s = time.perf_counter() - began
    spark.stop()
    print(f"silver from {records:,} records in {silver_s:.0f} s ({records / silver_s:,.0f} records/s)", flush=True)

    import duckdb

    from retail.gold import build_gold

    began = time.perf_counter()
    with duckdb.connect() as db:
        scan = "select count(*), sum(length(event_id)) from read_parquet('{}/silver/{}/*/*/*.parquet')"
        scanned = [db.execute(scan.format(lake, e)).fetchone()[0] for e in CONTRACTS]
    scan_s = time.perf_counter() - began

    settings = Settings(gold_source="local", local_lake_path=lake, gold_path=args.workdir / "gold")
    build = build_gold(settings)

    print(f"silver rows: customers {scanned[0]:,}, purchases {scanned[1]:,}, clickstream {scanned[2]:,}")
    print(f"scan of all silver (DuckDB)    {scan_s:>7.1f} s   (baseline)")
    print(f"gold build (dbt build + docs,  {build.seconds:>7.1f} s   {build.seconds / scan_s:.1f}x the scan")
    print("  export, publish)")
    print("gold rows: " + ", ".join(f"{mart} {n:,}" for mart, n in build.rows.items()))


if __name__ == "__main__":
    main()
