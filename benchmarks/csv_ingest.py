"""Benchmark of CSV batch ingestion into bronze on the running stack; prints figures, asserts nothing.

    .venv/bin/python benchmarks/csv_ingest.py [--rows 10000000] [--multiline-every 1000]

One customers export of ``--rows`` rows (the seed's columns, no event_id; every ``--multiline-every``-th name quoted
and broken over two lines) is written locally, then landed three ways on the same HDFS and Spark cluster:
- plain Spark CSV read (header, splittable) written as Parquet: the baseline, it cannot read a quoted line break;
- Spark's own RFC 4180 reader (``multiLine``), which reads a file in one task;
- the platform's ``land_csv``: copy to the landing folder, header check, logical rows numbered in parallel splits,
  parse, write bronze Parquet.
Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from pathlib import Path

from retail.composition import spark_session
from retail.settings import Settings
from spark.bronze.job import land_csv
from spark.hdfs import Lake

COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "AU", "PL")


def write_export(path: Path, rows: int, multiline_every: int) -> int:
    """Writes a customers export; returns its size in bytes."""
    rng = random.Random(1)
    names = [f"{a} {b}" for a in ("Ann", "Bo", "Cy", "Di", "Ed", "Flo") for b in ("Lee", "Roe", "Kim", "Day")]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("customer_id,name,email,country,signup_date\n")
        chunk = []
        for i in range(rows):
            name = names[i % len(names)]
            if multiline_every and i % multiline_every == 0:
                name = '"' + name.replace(" ", "\n") + '"'
            second = i % 86_400
            chunk.append(
                f"CB-{i:09d},{name},c{i}@example.com,{COUNTRIES[rng.randrange(10)]},"
                f"2026-01-01T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+01:00\n"
            )
            if len(chunk) == 100_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    return path.stat().st_size


def timed(work) -> tuple[float, object]:
    """Returns the seconds ``work()`` took and what it returned."""
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def main() -> None:
    """Runs the benchmark and prints its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--multiline-every", type=int, default=1000, help="0: no quoted line breaks")
    parser.add_argument("--skip-multiline-reader", action="store_true", help="leave out Spark's one-task reader")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    settings = Settings().model_copy(update={"lake_path": f"/bench/csv-{run}"})
    lake = settings.lake()
    spark = spark_session(settings, "bench-csv")
    spark.sparkContext.setLogLevel("WARN")
    spark.range(1000).selectExpr("sum(id)").collect()  # warm-up: executors up before anything is timed
    hdfs = Lake(spark)
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export-customers.csv"
        write_s, size = timed(lambda: write_export(export, args.rows, args.multiline_every))
        print(f"export: {args.rows:,} rows, {size / 2**20:,.0f} MiB, written in {write_s:.0f} s")
        plain_copy = settings.lake_uri("plain", export.name)
        put_s, _ = timed(lambda: hdfs.put(export, plain_copy))
        reader = spark.read.option("header", "true")
        spark.read.text(plain_copy).count()  # warm-up: the first read of a file pays for what follows

        plain_s, _ = timed(lambda: reader.csv(plain_copy).write.parquet(settings.lake_uri("plain", "out")))
        plain_rows = spark.read.parquet(settings.lake_uri("plain", "out")).count()
        multi_s = multi_rows = None
        if not args.skip_multiline_reader:
            multi = reader.option("multiLine", "true").option("escape", '"')
            multi_s, _ = timed(lambda: multi.csv(plain_copy).write.parquet(settings.lake_uri("multi", "out")))
            multi_rows = spark.read.parquet(settings.lake_uri("multi", "out")).count()

        ours_s, report = timed(
            lambda: land_csv(spark, export, "customers", landing_root=lake.landing_csv, bronze_root=lake.bronze_csv)
        )
    hdfs.delete(settings.lake_uri())
    spark.stop()

    figures = {
        "rows": args.rows,
        "mib": round(size / 2**20),
        "plain_rows_per_s": round(args.rows / plain_s),
        "multiline_reader_rows_per_s": round(args.rows / multi_s) if multi_s else None,
        "land_csv_rows_per_s": round(args.rows / ours_s),
        "copy_to_hdfs_s": round(put_s, 1),
        "land_csv_s": round(ours_s, 1),
        "plain_s": round(plain_s, 1),
        "land_csv_vs_plain": round(plain_s / ours_s, 2),
        "land_csv_vs_multiline_reader": round(multi_s / ours_s, 2) if multi_s else None,
        "plain_rows": plain_rows,
        "multiline_reader_rows": multi_rows,
        "land_csv_rows": report.rows,
        "land_csv_parse_errors": report.parse_errors,
    }
    print(
        f"plain Spark CSV read  {figures['plain_rows_per_s']:>10,} rows/s (baseline; {plain_rows:,} rows: "
        "a quoted line break splits a row)"
    )
    if multi_s:
        print(
            f"Spark multiLine read  {figures['multiline_reader_rows_per_s']:>10,} rows/s "
            f"({multi_rows:,} rows; one task per file)"
        )
    print(
        f"land_csv (bronze)     {figures['land_csv_rows_per_s']:>10,} rows/s ({report.rows:,} rows, "
        f"{figures['land_csv_vs_plain']}x the plain read; copy to HDFS included)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
