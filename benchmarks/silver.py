"""Benchmark of the silver layer on the running stack; prints figures, asserts nothing.

    .venv/bin/python benchmarks/silver.py [--records 100000] [--probes 10]

Figures, each against a baseline measured in the same run (this machine is shared and noisy):
- silver catch-up rate (Kafka -> bronze + silver + quarantine + Cassandra, availableNow) against the bronze-only
  catch-up of the same topics;
- produce-to-Cassandra latency of single purchases sent into a running stream (trigger every second): the time
  from the broker's acknowledgement until the purchase can be read from ``purchases_by_customer``, against the
  trigger interval.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from retail.cassandra import CassandraTarget
from retail.composition import spark_session, start_stream
from retail.contracts import CONTRACTS, PURCHASES
from retail.generator import GeneratorConfig, generate
from retail.generator.faults import Record, encode
from retail.kafka import ensure_topics, produce
from retail.settings import Settings

TRIGGER_SECONDS = 1.0


def catch_up(spark, settings: Settings, silver: bool) -> float:
    """Catches up on every entity topic (through silver when asked); returns the seconds it took."""
    began = time.perf_counter()
    query = start_stream(spark, settings, trigger_seconds=None, silver=silver)
    query.awaitTermination()
    return time.perf_counter() - began


def probe(template: dict) -> Record:
    """A new valid purchase of a customer silver knows, made now (to the millisecond Cassandra keeps)."""
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    body = {
        **template,
        "event_id": str(uuid.uuid4()),
        "order_id": f"BENCH-{uuid.uuid4().hex[:12]}",
        "purchase_date": now.isoformat().replace("+00:00", "Z"),
    }
    return Record(PURCHASES.entity, body["event_id"], str(body["customer_id"]).encode(), encode(body), "valid", body)


def main() -> None:
    """Runs the benchmark and prints its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=10)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    base = Settings().model_copy(update={"kafka_topic_prefix": f"bench{run}-", "cassandra_keyspace": f"bench{run}"})
    bronze_only = base.model_copy(update={"lake_path": f"/bench/{run}/bronze-only"})
    with_silver = base.model_copy(update={"lake_path": f"/bench/{run}/silver"})
    n = args.records

    records = list(itertools.islice(generate(GeneratorConfig(seed=1, bad_fraction=0.05)), n))
    ensure_topics(base)
    with tempfile.TemporaryDirectory() as tmp:
        if produce(records, base, Path(tmp) / "ledger.jsonl").failed:
            raise SystemExit("some records were not acknowledged")

    spark = spark_session(base, "bench-silver")
    spark.sparkContext.setLogLevel("WARN")
    spark.range(1000).selectExpr("sum(id)").collect()  # warm-up: executors up before anything is timed
    bronze_s = catch_up(spark, bronze_only, silver=False)
    silver_s = catch_up(spark, with_silver, silver=True)
    silver_rows = sum(spark.read.parquet(with_silver.lake().silver(e)).count() for e in CONTRACTS)

    template = next(r.payload for r in records if r.entity == PURCHASES.entity and r.kind == "valid")
    query = start_stream(spark, with_silver, trigger_seconds=TRIGGER_SECONDS, silver=True)
    cluster = CassandraTarget.from_settings(base).connect()
    session = cluster.connect(base.cassandra_keyspace)
    lookup = session.prepare("SELECT order_id FROM purchases_by_customer WHERE customer_id = ? AND purchase_date = ?")
    latencies = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.probes):
                record = probe(template)
                produce([record], base, Path(tmp) / f"probe{i}.jsonl")
                acked = time.perf_counter()
                stamp = datetime.fromisoformat(json.loads(record.value)["purchase_date"].replace("Z", "+00:00"))
                while not session.execute(lookup, (record.payload["customer_id"], stamp)).all():
                    if time.perf_counter() - acked > 120:
                        raise SystemExit(f"probe {i} not in Cassandra after 120 s")
                    time.sleep(0.05)
                latencies.append(time.perf_counter() - acked)
                time.sleep(0.7)  # spread the probes over different points of the trigger cycle
    finally:
        query.stop()
        cluster.shutdown()
        spark.stop()

    print(f"records: {n:,} (5% bad); silver rows: {silver_rows:,}")
    print(f"bronze-only catch-up   {n / bronze_s:>9,.0f} events/s   (baseline)")
    print(f"silver catch-up        {n / silver_s:>9,.0f} events/s   {bronze_s / silver_s:.2f}x the bronze-only rate")
    median, worst = statistics.median(latencies), max(latencies)
    print(
        f"produce-to-Cassandra   median {median:.2f} s, p90 {statistics.quantiles(latencies, n=10)[-1]:.2f} s, "
        f"max {worst:.2f} s over {len(latencies)} probes = {median / TRIGGER_SECONDS:.1f}x the "
        f"{TRIGGER_SECONDS:.0f} s trigger"
    )


if __name__ == "__main__":
    main()
