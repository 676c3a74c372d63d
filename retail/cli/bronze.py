"""``retail bronze ...``: land the Kafka stream and CSV batch files in bronze on HDFS."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from retail.cli.common import console, err_console, fail, load_settings
from retail.composition import (
    BATCH_RECORDS,
    LIVE_TRIGGER_S,
    csv_dialect,
    run_queries,
    silver_targets,
    spark_session,
    start_live,
    start_stream,
)

app = typer.Typer(help="Bronze: raw events plus lineage, Parquet on HDFS.", no_args_is_help=True)
Master = Annotated[str | None, typer.Option(help="Spark master (default: the configured one), e.g. local[2]")]


@app.command()
def stream(
    once: Annotated[bool, typer.Option("--once", help="catch up on everything there is, then stop")] = False,
    trigger_seconds: Annotated[
        float, typer.Option(help="micro-batch interval of the bronze + silver stream")
    ] = LIVE_TRIGGER_S,
    max_offsets: Annotated[int, typer.Option(help="most records per micro-batch")] = BATCH_RECORDS,
    silver: Annotated[bool, typer.Option("--silver", help="also route every micro-batch to silver")] = False,
    serving: Annotated[
        bool, typer.Option(help="with --silver (not --once): a serving query writes Cassandra as records arrive")
    ] = True,
    master: Master = None,
) -> None:
    """Run the bronze stream from the entity topics (until stopped, or once with --once)."""
    settings = load_settings()
    live = silver and serving and not once
    spark = spark_session(settings, "bronze-stream", master, live=live)
    if live:
        queries = start_live(spark, settings, trigger_seconds, max_offsets)
        console.print("serving query running: each valid event into Cassandra as soon as it is read")
    else:
        if not silver:
            _warn_beside_silver(spark, settings)
        queries = (start_stream(spark, settings, None if once else trigger_seconds, max_offsets, silver),)
    console.print(f"bronze stream running; writing {settings.lake().bronze_kafka}")
    try:
        run_queries(spark, queries, until_all=once)
    except KeyboardInterrupt:
        pass
    except RuntimeError as failed:
        raise fail(failed) from None
    finally:
        for query in queries:
            if progress := query.lastProgress:
                console.print(f"{query.name} last batch {progress['batchId']}: {progress['numInputRows']} rows")


def _warn_beside_silver(spark, settings) -> None:
    from retail.lake import STREAM_QUERY
    from spark.hdfs import Lake

    if Lake(spark).exists(settings.lake().checkpoint(STREAM_QUERY)):
        err_console.print(
            "[yellow]warning:[/] this lake has a bronze + silver stream; a bronze-only stream is a query of its own "
            "(its own checkpoint) and lands every record in bronze a second time. Use --silver to resume that one."
        )


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV files, each of one entity", exists=True, dir_okay=False)],
    entity: Annotated[str, typer.Option(help="customers, purchases or clickstream")],
    silver: Annotated[bool, typer.Option("--silver", help="also route the files' rows to silver")] = False,
    delimiter: Annotated[str | None, typer.Option(help="field separator [default: RETAIL_CSV__DELIMITER or ,]")] = None,
    encoding: Annotated[
        str | None, typer.Option(help="utf-8, latin-1 or ascii [default: RETAIL_CSV__ENCODING or utf-8]")
    ] = None,
    extra_columns: Annotated[
        bool | None,
        typer.Option("--extra-columns/--no-extra-columns", help="keep unknown columns in bronze, not reject the file"),
    ] = None,
    master: Master = None,
) -> None:
    """Land CSV batch files in bronze (and silver): columns matched by the header's names in any order, event_id
    optional (named by the entity's identity), RFC 4180 quoting (fields may span lines). A file already ingested
    (same content) adds nothing; one whose header does not fit the entity, or with a quote never closed, is
    rejected (exit 1)."""
    from spark.ingest import ingest_csv

    settings = load_settings()
    try:
        dialect = csv_dialect(settings, delimiter=delimiter, encoding=encoding, extra_columns=extra_columns)
    except ValueError as err:
        raise fail(str(err)) from None
    with console.status("starting Spark"):
        spark = spark_session(settings, "bronze-csv", master)
        targets = silver_targets(settings) if silver else None
    rejected = []
    for file in files:
        try:
            with console.status(f"landing {file} in bronze" + (" and silver" if silver else "")):
                report = ingest_csv(
                    spark,
                    file,
                    entity,
                    landing_root=settings.lake().landing_csv,
                    bronze_root=settings.lake().bronze_csv,
                    silver=targets,
                    dialect=dialect,
                )
        except ValueError as err:  # an unknown entity, or a header that does not fit it: nothing landed
            err_console.print(f"[red]rejected[/] {err}")
            rejected.append(file)
            continue
        if report.already_ingested:
            console.print(f"{file}: already ingested as {report.batch_id} ({report.rows:,} rows); nothing added")
        else:
            problems = ", ".join(f"{n:,} {reason}" for reason, n in sorted(report.parse_errors.items()))
            console.print(
                f"{file}: {report.rows:,} rows landed as {report.batch_id}"
                + (f"; could not parse {problems} (kept raw in bronze)" if problems else "")
                + (f"; {report.blank_lines:,} blank lines skipped" if report.blank_lines else "")
                + ("; the file has no data lines" if report.rows == 0 else "")
            )
        for name, counts in (report.silver or {}).items():
            console.print(f"  silver {name}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if rejected:
        raise fail(f"{len(rejected)} of {len(files)} file(s) rejected, nothing of them landed")


@app.command()
def status(
    watch: Annotated[bool, typer.Option("--watch", help="refresh every second until Ctrl-C")] = False,
) -> None:
    """Show the live queries: last batch and its age, events/s, consumer lag and produce -> Cassandra latency."""
    from rich.live import Live

    from retail.lake import SERVING_QUERY
    from retail.stream_status import serving_freshness, stream_status

    settings = load_settings()

    def table():
        from rich.table import Table

        grid = Table("query", "last batch", "age s", "events/s", "lag", "produce → readable p50 / p95 (last 5 min)")
        try:
            serving, silver = stream_status(settings, SERVING_QUERY), stream_status(settings)
            freshness = serving_freshness(settings)
        except Exception as err:  # noqa: BLE001 - a service that does not answer is what this command reports
            grid.add_row("[red]unavailable[/]", str(err), "", "", "", "")
            return grid
        latency = "-" if freshness is None else f"{freshness.p50_s:.2f} s / {freshness.p95_s:.2f} s (Cassandra)"
        for name, s, fresh in (("serving → Cassandra", serving, latency), ("bronze + silver", silver, "")):
            age = s.seconds_since_commit()
            grid.add_row(
                name,
                "-" if s.last_batch is None else str(s.last_batch),
                "-" if age is None else f"{age:.1f}",
                "-" if s.events_per_s is None else f"{s.events_per_s:,.0f}",
                f"{s.total_lag:,}",
                fresh,
            )
        return grid

    if not watch:
        console.print(table())
        return
    with Live(table(), console=console, refresh_per_second=1) as live:
        try:
            while True:
                time.sleep(1)
                live.update(table())
        except KeyboardInterrupt:
            pass
