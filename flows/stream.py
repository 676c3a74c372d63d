"""``stream-catch-up`` (availableNow: everything there is, then stop) and ``stream-forever`` (the long-running
query) over the Kafka topics into bronze and silver. Both share one checkpoint: run one at a time."""

from __future__ import annotations

from prefect import flow
from prefect.concurrency.sync import concurrency

from flows.reports import publish_freshness_report, publish_quality_report
from flows.tasks import STREAM_SLOT, _spark, catch_up_stream
from retail.settings import Settings


@flow(name="stream-catch-up", log_prints=True)
def stream_catch_up(max_offsets: int | None = None) -> dict:
    """Catches up on Kafka into bronze and silver, then publishes data quality and freshness."""
    settings = Settings()
    result = catch_up_stream(settings, max_offsets)
    print(f"{result['rows']:,} rows in {result['batches']} micro-batches")
    publish_quality_report(settings)
    publish_freshness_report(settings)
    return result


@flow(name="stream-forever", log_prints=True)
def stream_forever(trigger_seconds: float = 2.0, max_offsets: int | None = 50_000) -> None:
    """Runs the stream until it is stopped or fails (a failure fails the run, so the supervisor sees it)."""
    from retail.cli.bronze import start_stream

    settings = Settings()
    with concurrency(STREAM_SLOT, lease_duration=60):
        query = start_stream(_spark(settings), settings, trigger_seconds, max_offsets, silver=True)
        print(f"stream {query.id} running every {trigger_seconds} s")
        query.awaitTermination()
    if query.exception():
        raise RuntimeError(f"the stream failed: {query.exception()}")
