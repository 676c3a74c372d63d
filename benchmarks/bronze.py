"""Benchmark of the sources and the bronze layer on the running stack; prints figures, asserts nothing.

    .venv/bin/python benchmarks/bronze.py [--records 100000]

Figures are ratios against baselines measured in the same run, because this machine is shared and noisy:
- producer rate against the generator alone (how much Kafka delivery costs on top of making the events);
- bronze catch-up rate (Kafka -> Parquet on HDFS, availableNow) against a plain Spark batch read of the same topics.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
import uuid
from pathlib import Path

from retail.composition import spark_session, start_stream
from retail.contracts import CONTRACTS
from retail.generator import GeneratorConfig, generate
from retail.kafka import ensure_topics, produce
from retail.settings import Settings


def main() -> None:
    """Runs the benchmark and prints its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--bad-fraction", type=float, default=0.05)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    settings = Settings().model_copy(update={"kafka_topic_prefix": f"bench{run}-", "lake_path": f"/bench/{run}"})
    n = args.records

    began = time.perf_counter()
    records = list(itertools.islice(generate(GeneratorConfig(seed=1, bad_fraction=args.bad_fraction)), n))
    generate_s = time.perf_counter() - began

    ensure_topics(settings)
    with tempfile.TemporaryDirectory() as tmp:
        report = produce(records, settings, Path(tmp) / "ledger.jsonl")
    if report.failed:
        raise SystemExit(f"{report.failed} records were not acknowledged")

    spark = spark_session(settings, "bench-bronze")
    spark.sparkContext.setLogLevel("WARN")
    spark.range(1000).selectExpr("sum(id)").collect()  # warm-up: executors up before anything is timed
    topics = ",".join(f"{settings.kafka_topic_prefix}{c.topic}" for c in CONTRACTS.values())
    bootstrap = settings.endpoints().kafka_bootstrap_servers
    began = time.perf_counter()
    read = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topics)
        .option("startingOffsets", "earliest")
        .load()
        .count()
    )
    read_s = time.perf_counter() - began

    began = time.perf_counter()
    query = start_stream(spark, settings, trigger_seconds=None)
    query.awaitTermination()
    bronze_s = time.perf_counter() - began
    landed = spark.read.parquet(settings.lake().bronze_kafka).count()
    spark.stop()

    print(f"records: {n:,} ({args.bad_fraction:.0%} bad); bronze rows landed: {landed:,}; plain read saw {read:,}")
    print(f"generator alone      {n / generate_s:>10,.0f} records/s   (baseline)")
    print(f"Kafka producer       {report.rate:>10,.0f} records/s   {report.rate / (n / generate_s):.2f}x the generator")
    print(f"plain Spark read     {n / read_s:>10,.0f} records/s   (baseline)")
    print(f"bronze catch-up      {n / bronze_s:>10,.0f} records/s   {read_s / bronze_s:.2f}x the plain read")


if __name__ == "__main__":
    main()
