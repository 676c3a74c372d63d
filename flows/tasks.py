"""The pipeline's tasks: each wraps one side effect of the core package, ``spark/`` or dbt, with its own retries and
timeout. Flows only put them in order."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.asyncio import AcquireConcurrencySlotTimeoutError
from prefect.concurrency.sync import concurrency

from retail.composition import BATCH_RECORDS
from retail.contracts import CONTRACTS
from retail.deploy import STREAM_SLOT  # one slot: the catch-up and the long-running stream share a checkpoint
from retail.settings import Settings

ENTITY_ORDER = tuple(CONTRACTS)  # customers first: purchases are checked against them


def flow_spark(settings: Settings):
    """The flow-run process's Spark session (on the stack's master, with the Kafka connector); Spark's getOrCreate
    hands every task the same one."""
    from retail.composition import spark_session

    spark = spark_session(settings, "retail-flows")
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _config(seed: int, bad_fraction: float, start_days_ago: int, shard: int = 0, shards: int = 1):
    from retail.generator import GeneratorConfig

    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight - timedelta(days=start_days_ago)
    return GeneratorConfig(seed=seed, bad_fraction=bad_fraction, start=start, shard=shard, shards=shards)


@task(retries=2, retry_delay_seconds=5, timeout_seconds=1800, cache_policy=NO_CACHE)
def produce_events(
    settings: Settings,
    count: int,
    seed: int,
    bad_fraction: float,
    start_days_ago: int,
    shard: int = 0,
    shards: int = 1,
    *,
    rate: float | None = None,
    live: bool = False,
) -> dict:
    """Sends ``count`` generated events (of generator shard ``shard`` of ``shards``) to Kafka, at up to ``rate``
    per second; ``live``: each event happens as it is sent. Returns the producer's counts. Fails if any was not
    acknowledged."""
    from retail.generator import generate, happening_now
    from retail.kafka import ensure_topics, produce

    ensure_topics(settings)
    config = _config(seed, bad_fraction, start_days_ago, shard, shards)
    records = itertools.islice(generate(config), count)
    if live:
        records = happening_now(records)
    name = f"kafka-{seed}" + (f"-shard{shard}of{shards}" if shards > 1 else "")
    ledger = settings.ledger_path / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%S}.jsonl"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    report = produce(records, settings, ledger, rate=rate)
    if report.failed:
        raise RuntimeError(f"{report.failed} of {report.produced} records were not acknowledged; see {ledger}")
    return {"acked": report.acked, "rate": round(report.rate), "ledgers": [str(ledger)]}


@task(retries=1, timeout_seconds=900, cache_policy=NO_CACHE)
def write_csv_batch(count: int, seed: int, bad_fraction: float, start_days_ago: int, inbox: Path) -> list[str]:
    """Writes ``count`` generated events as one CSV file per entity into ``inbox``, as a shop exports them (no
    event_id, columns in its own order, UTC offsets, names over two lines); returns the files."""
    from retail.generator import generate
    from retail.generator.csv_files import write_csv

    records = itertools.islice(generate(_config(seed, bad_fraction, start_days_ago)), count)
    files, _ = write_csv(records, inbox, f"batch-{seed}", shuffle_seed=seed, event_ids=False, quirks_seed=seed)
    return [str(f) for f in files]


@task(retries=2, retry_delay_seconds=10, timeout_seconds=3600, cache_policy=NO_CACHE)
def catch_up_stream(settings: Settings, max_offsets: int | None = BATCH_RECORDS, live_wait_s: float = 1800) -> dict:
    """Brings bronze and silver up to Kafka's end. When the live stream runs (it holds the stream slot), waits until
    it has caught up; else runs the stream until caught up (availableNow). Returns how: the mode, the micro-batches
    committed, the rows this step streamed itself (none when the live stream took them) and, in live mode, the
    records that were waiting when it began. A retry resumes from the checkpoint: nothing twice, nothing lost."""
    from retail.composition import start_stream

    try:
        with concurrency(STREAM_SLOT, timeout_seconds=20):
            query = start_stream(
                flow_spark(settings), settings, trigger_seconds=None, max_offsets=max_offsets, silver=True
            )
            query.awaitTermination()
    except AcquireConcurrencySlotTimeoutError:  # the live stream holds the slot
        return _wait_for_live_stream(settings, live_wait_s)
    if query.exception():
        raise RuntimeError(f"the stream failed: {query.exception()}")
    progress = query.recentProgress
    return {"mode": "catch-up", "batches": len(progress), "rows": sum(p["numInputRows"] for p in progress)}


def _wait_for_live_stream(settings: Settings, deadline_s: float, stall_s: float = 300, poll_s: float = 2) -> dict:
    """Waits until the stream of this lake has read all of Kafka; returns the micro-batches it committed meanwhile
    and the records that were waiting at the start (the live stream, not this step, streamed them: ``rows`` is 0).
    Raises when it lags after ``deadline_s``, or when no batch commits for ``stall_s`` while records wait: then the
    slot's holder is not this lake's stream."""
    from retail.stream_status import stream_status

    began = moved = time.monotonic()
    first = last = stream_status(settings)
    while (status := stream_status(settings)).total_lag:
        now = time.monotonic()
        if status.last_batch != last.last_batch:
            last, moved = status, now
        if now - moved > stall_s:
            raise RuntimeError(
                f"the stream slot {STREAM_SLOT!r} is taken, yet no batch of {settings.lake_path} committed for "
                f"{stall_s:.0f} s while {status.total_lag:,} records wait: the run holding the slot streams "
                "another lake or is stuck; cancel it in the Prefect UI (or `./run stack down`) and run again"
            )
        if now - began > deadline_s:
            raise TimeoutError(f"the live stream still lags {status.total_lag:,} records after {deadline_s:.0f} s")
        time.sleep(poll_s)
    before = -1 if first.last_batch is None else first.last_batch  # batch ids count from 0
    batches = 0 if status.last_batch is None else status.last_batch - before
    return {"mode": "live", "batches": batches, "rows": 0, "waiting": first.total_lag}


@task(retries=1, retry_delay_seconds=10, timeout_seconds=1800, cache_policy=NO_CACHE)
def ingest_csv_file(settings: Settings, path: str, entity: str) -> dict:
    """Lands one CSV file in bronze and silver (a file already ingested adds nothing); returns its counts, or why
    the file was rejected (its header, or a quote never closed: then nothing landed)."""
    from retail.composition import csv_dialect, silver_targets
    from spark.bronze.csv_header import CsvFileError
    from spark.ingest import ingest_csv

    try:
        report = ingest_csv(
            flow_spark(settings),
            Path(path),
            entity,
            landing_root=settings.lake().landing_csv,
            bronze_root=settings.lake().bronze_csv,
            silver=silver_targets(settings),
            dialect=csv_dialect(settings),
        )
    except CsvFileError as rejected:  # the file, not the run, is wrong: say so and go on with the others
        print(f"rejected {path}: {rejected}")
        return {"file": path, "entity": entity, "rejected": str(rejected)}
    return {
        "file": path,
        "entity": entity,
        "rows": report.rows,
        "already_ingested": report.already_ingested,
        "parse_errors": report.parse_errors,
        "blank_lines": report.blank_lines,
        "silver": report.silver,
    }


@task(retries=1, retry_delay_seconds=30, timeout_seconds=3600, cache_policy=NO_CACHE)
def publish_gold_build(settings: Settings) -> dict:
    """Builds, tests and publishes gold (waits up to 10 minutes for a build already running); returns its figures."""
    from retail.gold import build_gold

    result = build_gold(settings, wait_s=600, progress=print)
    return {
        "build_id": result.build_id,
        "path": str(result.path),
        "seconds": round(result.seconds, 1),
        "rows": result.rows,
        "headline": result.headline,
    }
