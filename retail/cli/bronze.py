"""``retail bronze ...``: land the Kafka stream and CSV batch files in bronze on HDFS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from retail.cli.common import console, fail, load_settings
from retail.settings import Settings

app = typer.Typer(help="Bronze: raw events plus lineage, Parquet on HDFS.", no_args_is_help=True)
Master = Annotated[str | None, typer.Option(help="Spark master (default: the configured one), e.g. local[2]")]


def spark_session(settings: Settings, app_name: str, master: str | None = None):
    """Returns a Spark session on the configured master (or ``master``) with the Kafka connector."""
    from retail.stack.artifacts import fetch, load_groups
    from spark.session import build_session

    connector = fetch(load_groups(settings.stack.cache_dir)["spark-kafka"])
    jars = tuple(str(j) for j in sorted(connector.glob("*.jar")))
    return build_session(app_name, master or settings.endpoints().spark_master, jars=jars)


def silver_targets(settings: Settings):
    """Returns the silver targets of ``settings``' lake, with the Cassandra keyspace and tables made ready."""
    from retail.cassandra import CassandraTarget, ensure_schema
    from spark.silver.job import SilverTargets

    cassandra = CassandraTarget.from_settings(settings)
    ensure_schema(cassandra, settings.cassandra_replication)
    return SilverTargets.under(settings.lake_uri(), cassandra)


def start_stream(spark, settings: Settings, trigger_seconds: float | None, max_offsets: int | None = None,
                 silver: bool = False):  # fmt: skip
    """Starts the bronze stream with every path and topic taken from ``settings``; None runs availableNow; with
    ``silver`` each micro-batch also lands in silver and quarantine."""
    from spark.bronze.job import start_kafka_stream

    return start_kafka_stream(
        spark,
        bootstrap_servers=settings.endpoints().kafka_bootstrap_servers,
        bronze_root=settings.lake_uri("bronze", "kafka"),
        checkpoint=settings.lake_uri("_checkpoints", "bronze_kafka"),
        topic_prefix=settings.kafka_topic_prefix,
        trigger_seconds=trigger_seconds,
        max_offsets_per_trigger=max_offsets,
        silver=silver_targets(settings) if silver else None,
    )


@app.command()
def stream(
    once: Annotated[bool, typer.Option("--once", help="catch up on everything there is, then stop")] = False,
    trigger_seconds: Annotated[float, typer.Option(help="micro-batch interval")] = 2.0,
    max_offsets: Annotated[int | None, typer.Option(help="most records per micro-batch")] = None,
    silver: Annotated[bool, typer.Option("--silver", help="also route every micro-batch to silver")] = False,
    master: Master = None,
) -> None:
    """Run the bronze stream from the entity topics (until stopped, or once with --once)."""
    settings = load_settings()
    spark = spark_session(settings, "bronze-stream", master)
    query = start_stream(spark, settings, None if once else trigger_seconds, max_offsets, silver)
    console.print(f"bronze stream running (query {query.id}); writing {settings.lake_uri('bronze', 'kafka')}")
    try:
        query.awaitTermination()
    except KeyboardInterrupt:
        query.stop()
    progress = query.lastProgress
    if progress:
        console.print(f"last batch {progress['batchId']}: {progress['numInputRows']} rows")
    if query.exception():
        raise fail(query.exception())


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV files, each of one entity", exists=True, dir_okay=False)],
    entity: Annotated[str, typer.Option(help="customers, purchases or clickstream")],
    silver: Annotated[bool, typer.Option("--silver", help="also route the files' rows to silver")] = False,
    master: Master = None,
) -> None:
    """Land CSV batch files in bronze (and silver); a file already ingested (same content) adds nothing."""
    from spark.bronze.job import ingest_csv

    settings = load_settings()
    spark = spark_session(settings, "bronze-csv", master)
    targets = silver_targets(settings) if silver else None
    for file in files:
        try:
            report = ingest_csv(spark, file, entity, landing_root=settings.lake_uri("landing", "csv"),
                                bronze_root=settings.lake_uri("bronze", "csv"), silver=targets)  # fmt: skip
        except ValueError as err:
            raise fail(err) from err
        if report.already_ingested:
            console.print(f"{file}: already ingested as {report.batch_id} ({report.rows:,} rows); nothing added")
        else:
            problems = ", ".join(f"{n:,} {reason}" for reason, n in sorted(report.parse_errors.items()))
            console.print(f"{file}: {report.rows:,} rows landed as {report.batch_id}"
                          + (f"; could not parse {problems} (kept raw in bronze)" if problems else "")
                          + ("; the file has no data lines" if report.rows == 0 else ""))  # fmt: skip
        for entity, counts in (report.silver or {}).items():
            console.print(f"  silver {entity}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
