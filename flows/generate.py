"""``generate-events``: generated retail events into Kafka, and optionally one CSV batch into the inbox."""

from __future__ import annotations

import time

from prefect import flow

from flows.tasks import produce_events, write_csv_batch
from retail.settings import Settings


@flow(name="generate-events", log_prints=True)
def generate_events(
    count: int = 20_000,
    csv_count: int = 0,
    seed: int | None = None,
    bad_fraction: float = 0.05,
    start_days_ago: int = 7,
) -> dict:
    """Sends ``count`` events to Kafka and writes ``csv_count`` more as CSV files into the inbox; a new seed each
    run unless one is given (the same seed gives the same events, which silver then removes as duplicates)."""
    settings = Settings()
    seed = int(time.time()) if seed is None else seed
    sent = produce_events(settings, count, seed, bad_fraction, start_days_ago)
    files = []
    if csv_count:
        files = write_csv_batch(csv_count, seed + 1, bad_fraction, start_days_ago, settings.inbox_path)
    print(f"seed {seed}: {sent['acked']:,} events to Kafka at {sent['rate']:,}/s; CSV files {files}")
    return {"seed": seed, "kafka": sent, "csv_files": files}
