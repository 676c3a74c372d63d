"""``retail bronze ...``: land the Kafka stream and CSV batch files in bronze on HDFS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from retail.cli.common import console, fail, load_settings
from retail.jobs import silver_targets, spark_session, start_live, start_stream

app = typer.Typer(help="Bronze: raw events plus lineage, Parquet on HDFS.", no_args_is_help=True)
Master = Annotated[str | None, typer.Option(help="Spark master (default: the configured one), e.g. local[2]")]


@app.command()
def stream(
    once: Annotated[bool, typer.Option("--once", help="catch up on everything there is, then stop")] = False,
    trigger_seconds: Annotated[float, typer.Option(help="micro-batch interval of the bronze + silver stream")] = 2.0,
    max_offsets: Annotated[int | None, typer.Option(help="most records per micro-batch")] = None,
    silver: Annotated[bool, typer.Option("--silver", help="also route every micro-batch to silver")] = False,
    serving: Annotated[
        bool, typer.Option(help="with --silver (not --once): a serving query writes Cassandra within a second")
    ] = True,
    master: Master = None,
) -> None:
    """Run the bronze stream from the entity topics (until stopped, or once with --once)."""
    settings = load_settings()
    spark = spark_session(settings, "bronze-stream", master)
    if silver and serving and not once:
        queries = start_live(spark, settings, trigger_seconds, max_offsets)
        console.print("serving query running: Cassandra within a second of each event")
    else:
        queries = (start_stream(spark, settings, None if once else trigger_seconds, max_offsets, silver),)
    console.print(f"bronze stream running; writing {settings.lake_uri('bronze', 'kafka')}")
    try:
        if once:
            queries[0].awaitTermination()
        else:
            spark.streams.awaitAnyTermination()
    except KeyboardInterrupt:
        pass
    for query in queries:
        if query.isActive:
            query.stop()
        progress = query.lastProgress
        if progress:
            console.print(f"{query.name} last batch {progress['batchId']}: {progress['numInputRows']} rows")
    failed = next((q.exception() for q in queries if q.exception()), None)
    if failed:
        raise fail(failed)


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
