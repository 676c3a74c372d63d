"""``generate-events``: generated retail events into Kafka, and optionally one CSV batch into the inbox. With
``producers`` > 1 the generator is sharded across that many processes (a Dask cluster of this flow run's), because
one producer process tops out at about 16,000 events/s."""

from __future__ import annotations

import time

from prefect import flow
from prefect_dask import DaskTaskRunner

from flows.tasks import produce_events, write_csv_batch
from retail.settings import Settings


@flow(name="produce-sharded", log_prints=True)
def produce_sharded(
    settings: Settings, count: int, seed: int, bad_fraction: float, start_days_ago: int, shards: int
) -> dict:
    """Sends ``count`` events from ``shards`` generator shards running side by side (one per worker of the flow's
    task runner); returns their counts added up (``rate``: all shards together)."""
    sizes = [count // shards + (1 if i < count % shards else 0) for i in range(shards)]
    futures = [
        produce_events.submit(settings, size, seed, bad_fraction, start_days_ago, shard, shards)
        for shard, size in enumerate(sizes)
    ]
    results = [f.result() for f in futures]
    return {
        "acked": sum(r["acked"] for r in results),
        "rate": sum(r["rate"] for r in results),
        "ledgers": [ledger for r in results for ledger in r["ledgers"]],
    }


@flow(name="generate-events", log_prints=True)
def generate_events(
    count: int = 20_000,
    csv_count: int = 0,
    seed: int | None = None,
    bad_fraction: float = 0.05,
    start_days_ago: int = 7,
    producers: int = 1,
    rate: float | None = None,
    live: bool = False,
) -> dict:
    """Sends ``count`` events to Kafka (from ``producers`` processes) and writes ``csv_count`` more as CSV files into
    the inbox; a new seed each run unless one is given (the same seed gives the same events, which silver then
    removes as duplicates). ``rate``: events per second at most (one producer); ``live``: each event happens as it
    is sent (event time = now), as in a shop that is open, instead of over the last ``start_days_ago`` days."""
    settings = Settings()
    seed = int(time.time()) if seed is None else seed
    if producers > 1 and (rate or live):
        raise ValueError("rate and live are for one producer (producers=1)")
    if producers > 1:
        # Loopback only, no dashboard: the cluster lives as long as the subflow run.
        cluster = {"n_workers": producers, "threads_per_worker": 1, "host": "127.0.0.1", "dashboard_address": None}
        sharded = produce_sharded.with_options(task_runner=DaskTaskRunner(cluster_kwargs=cluster))
        sent = sharded(settings, count, seed, bad_fraction, start_days_ago, producers)
    else:
        # Paced, the task lasts count / rate seconds: its time limit follows. A live shop is not retried: a retry would
        # send the same events again happening at another time, i.e. as other events.
        options = {"timeout_seconds": count / rate + 600} if rate else {}
        task = produce_events.with_options(**options, **({"retries": 0} if live else {}))
        sent = task(settings, count, seed, bad_fraction, start_days_ago, rate=rate, live=live)
    files = []
    if csv_count:
        files = write_csv_batch(csv_count, seed + 1, bad_fraction, start_days_ago, settings.inbox_path)
    print(f"seed {seed}: {sent['acked']:,} events to Kafka at {sent['rate']:,}/s; CSV files {files}")
    return {"seed": seed, "kafka": sent, "csv_files": files}
