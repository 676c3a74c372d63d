"""``stream-catch-up`` (availableNow: everything there is, then stop) and ``stream-forever`` (the long-running
query) over the Kafka topics into bronze and silver. Both share one checkpoint: run one at a time."""

from __future__ import annotations

from prefect import flow
from prefect.concurrency.sync import concurrency

from flows.reports import publish_freshness_report, publish_quality_report
from flows.tasks import STREAM_SLOT, catch_up_stream
from retail.composition import BATCH_RECORDS, LIVE_TRIGGER_S
from retail.settings import Settings


@flow(name="stream-catch-up", log_prints=True)
def stream_catch_up(max_offsets: int | None = BATCH_RECORDS) -> dict:
    """Catches up on Kafka into bronze and silver, then publishes data quality and freshness."""
    settings = Settings()
    result = catch_up_stream(settings, max_offsets)
    print(what_streamed(result))
    publish_quality_report(settings)
    publish_freshness_report(settings)
    return result


def what_streamed(result: dict) -> str:
    """Returns one line on what a catch-up (``catch_up_stream``'s result) streamed: its own rows, or, when the live
    stream held the slot, that the live stream took the records (the step itself streamed none)."""
    batches = f"{result['batches']} micro-batch{'' if result['batches'] == 1 else 'es'}"
    if result["mode"] == "live":
        return (
            f"the live stream took the records ({result['waiting']:,} waiting when this step began; {batches} "
            "committed while it waited)"
        )
    return f"{result['rows']:,} rows streamed in {batches}"


@flow(name="stream-forever", log_prints=True)
def stream_forever(trigger_seconds: float = LIVE_TRIGGER_S, max_offsets: int | None = BATCH_RECORDS) -> None:
    """Runs the live pair until it is stopped or fails (a failure fails the run, so the supervisor sees it): the
    serving query (Cassandra as soon as a record is read) and the exactly-once bronze + silver stream."""
    from retail.composition import run_queries, spark_session, start_live

    settings = Settings()
    # The slot first, Spark after: a run that waits for the slot (a catch-up holds it) waits as a bare process
    # instead of starting an application that competes with the catch-up for the cores.
    with concurrency(STREAM_SLOT, lease_duration=60):
        spark = spark_session(settings, "retail-stream", live=True)
        spark.sparkContext.setLogLevel("WARN")
        queries = start_live(spark, settings, trigger_seconds, max_offsets)
        print(f"serving query {queries[0].id} and stream {queries[1].id} running (every {trigger_seconds} s)")
        run_queries(spark, queries)  # a failure fails the run, so the supervisor sees it
