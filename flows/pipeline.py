"""``retail-pipeline``: the whole platform in order, composed of the other flows as subflows: generate, stream into
bronze and silver, ingest the CSV batch, build gold; each publishes its own data quality, gold figures and
freshness."""

from __future__ import annotations

from prefect import flow

from flows.generate import generate_events
from flows.gold import build_gold_flow
from flows.ingest import ingest_batch
from flows.stream import stream_catch_up, what_streamed


@flow(name="retail-pipeline", log_prints=True)
def retail_pipeline(
    count: int = 20_000,
    csv_count: int = 3_000,
    seed: int | None = None,
    bad_fraction: float = 0.05,
    start_days_ago: int = 7,
    producers: int = 1,
) -> dict:
    """Runs the other flows in order, each a subflow with its own reports: generate (Kafka and a CSV batch) ->
    bronze/silver catch-up -> CSV batch -> gold; returns what each step did."""
    generated = generate_events(count, csv_count, seed, bad_fraction, start_days_ago, producers)
    streamed = stream_catch_up()
    batches = ingest_batch(generated["csv_files"]) if generated["csv_files"] else []
    gold = build_gold_flow()
    print(
        f"seed {generated['seed']}: {generated['kafka']['acked']:,} events sent, {what_streamed(streamed)}, "
        f"{len(batches)} CSV files, gold {gold['build_id']} (revenue {gold['headline']['revenue']})"
    )
    return {"seed": generated["seed"], "kafka": generated["kafka"], "stream": streamed, "csv": batches, "gold": gold}
