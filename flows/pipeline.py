"""``retail-pipeline``: the whole platform in order: generate, stream into bronze and silver, ingest the CSV batch,
build gold, and publish data quality, gold figures and freshness."""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow

from flows.ingest import ingest_in_order
from flows.reports import publish_freshness_report, publish_gold_report, publish_quality_report
from flows.tasks import build_gold, catch_up_stream, produce_events, write_csv_batch
from retail.settings import Settings


@flow(name="retail-pipeline", log_prints=True)
def retail_pipeline(
    count: int = 20_000,
    csv_count: int = 3_000,
    seed: int | None = None,
    bad_fraction: float = 0.05,
    start_days_ago: int = 7,
) -> dict:
    """Runs generate -> Kafka -> bronze/silver (catch-up) -> CSV batch -> gold; returns what each step did."""
    settings = Settings()
    seed = int(time.time()) if seed is None else seed
    sent = produce_events(settings, count, seed, bad_fraction, start_days_ago)
    files = write_csv_batch(csv_count, seed + 1, bad_fraction, start_days_ago, settings.inbox_path) if csv_count else []
    streamed = catch_up_stream(settings)
    batches = ingest_in_order(settings, [Path(f) for f in files])
    publish_quality_report(settings)
    gold = build_gold(settings)
    publish_gold_report(gold)
    publish_freshness_report(settings)
    print(
        f"seed {seed}: {sent['acked']:,} events sent, {streamed['rows']:,} streamed ({streamed['mode']}), "
        f"{len(batches)} CSV files, gold {gold['build_id']} (revenue {gold['headline']['revenue']})"
    )
    return {"seed": seed, "kafka": sent, "stream": streamed, "csv": batches, "gold": gold}
