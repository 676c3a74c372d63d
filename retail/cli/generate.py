"""``retail generate ...`` and ``retail topics``: retail events to Kafka or to CSV batch files."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from confluent_kafka import KafkaException

from retail.cli.common import console, fail, load_settings
from retail.generator import BAD_KINDS, GeneratorConfig, generate, happening_now

app = typer.Typer(help="Generate retail events (customers, purchases, clickstream).", no_args_is_help=True)

Seed = Annotated[int, typer.Option(help="same seed, same events")]
BadFraction = Annotated[float, typer.Option(help="fraction of records that are bad, in [0, 1)")]
ALL_KINDS = ",".join(BAD_KINDS)
BadKinds = Annotated[str, typer.Option(help=f"comma-separated bad record kinds; all: {ALL_KINDS}")]


def _config(seed: int, bad_fraction: float, bad_kinds: str) -> GeneratorConfig:
    try:
        return GeneratorConfig(
            seed=seed, bad_fraction=bad_fraction, bad_kinds=tuple(filter(None, bad_kinds.split(",")))
        )
    except ValueError as err:
        raise fail(err) from err


def topics() -> None:
    """Create the entity topics (partitions, replication and retention from settings) if they do not exist."""
    from retail.kafka import ensure_topics

    try:
        created = ensure_topics(load_settings())
    except KafkaException as err:
        raise fail(f"Kafka did not answer ({err}); is it up? (`retail stack status`)") from err
    console.print(f"created {', '.join(created)}" if created else "all entity topics exist")


@app.command()
def kafka(
    count: Annotated[int | None, typer.Option(help="records to send")] = None,
    duration: Annotated[float | None, typer.Option(help="or: seconds to keep sending")] = None,
    rate: Annotated[float | None, typer.Option(help="records per second (default: as fast as possible)")] = None,
    seed: Seed = 42,
    bad_fraction: BadFraction = 0.0,
    bad_kinds: BadKinds = ALL_KINDS,
    ledger: Annotated[Path, typer.Option(help="where the ledger (JSON lines) goes")] = Path("ledger.jsonl"),
    live: Annotated[
        bool, typer.Option(help="each event happens as it is sent (event time = now), as in a shop")
    ] = False,
) -> None:
    """Send generated events to the entity topics; every record's fate goes to the ledger."""
    from retail.kafka import ensure_topics, produce

    if (count is None) == (duration is None):
        raise fail("give exactly one of --count or --duration")
    settings = load_settings()
    records = generate(_config(seed, bad_fraction, bad_kinds))
    if live:
        records = happening_now(records)
    try:
        ensure_topics(settings)
        report = produce(
            itertools.islice(records, count) if count is not None else records,
            settings,
            ledger,
            rate=rate,
            duration_s=duration,
            progress=lambda sent, acked: console.log(f"sent {sent:,}, acknowledged {acked:,}"),
        )
    except KafkaException as err:
        raise fail(f"Kafka did not answer ({err}); is it up? (`retail stack status`)") from err
    except KeyboardInterrupt as stopped:
        raise fail(
            f"stopped ({stopped or 'Ctrl-C'}); {ledger} holds the fate of every record sent so far "
            "(status=unknown: sent, but Kafka had not answered)"
        ) from None
    console.print(
        f"sent {report.produced:,} records in {report.seconds:.1f} s ({report.rate:,.0f} acknowledged/s): "
        f"{report.acked:,} acknowledged, {report.failed:,} failed; ledger {report.ledger}"
    )
    if report.failed:
        raise fail(f"{report.failed} records were not acknowledged; see status=failed/unknown in {report.ledger}")


@app.command("csv")
def csv_files(
    out: Annotated[Path, typer.Option(help="folder for the CSV files")],
    count: Annotated[int, typer.Option(help="records to write")] = 10_000,
    seed: Seed = 42,
    bad_fraction: BadFraction = 0.0,
    bad_kinds: BadKinds = ALL_KINDS,
    stem: Annotated[str, typer.Option(help="file name prefix")] = "batch",
    shuffle_columns: Annotated[bool, typer.Option(help="each entity's columns in a shuffled order")] = False,
    event_ids: Annotated[
        bool, typer.Option("--event-ids/--no-event-ids", help="write the event_id column (exports have none)")
    ] = True,
    export_quirks: Annotated[
        bool, typer.Option(help="UTC offsets on some timestamps, some names over two lines (quoted)")
    ] = False,
) -> None:
    """Write generated events as one CSV file per entity, plus a ledger of file and line per record; with
    --no-event-ids --shuffle-columns --export-quirks, as a shop's export would look."""
    from retail.generator.csv_files import write_csv

    records = itertools.islice(generate(_config(seed, bad_fraction, bad_kinds)), count)
    files, lines = write_csv(
        records,
        out,
        stem,
        shuffle_seed=seed if shuffle_columns else None,
        event_ids=event_ids,
        quirks_seed=seed if export_quirks else None,
    )
    ledger = out / f"{stem}-ledger.jsonl"
    ledger.write_text("".join(json.dumps(asdict(line)) + "\n" for line in lines))
    console.print(f"wrote {len(lines):,} records to {', '.join(str(f) for f in files)}; ledger {ledger}")


@app.command()
def shop(
    rate: Annotated[float, typer.Option(help="events per second")] = 20.0,
    minutes: Annotated[float, typer.Option(help="how long the shop stays open")] = 60.0,
) -> None:
    """Open a live shop on the stack's worker (deployment generate-events/live-shop): events at RATE per second for
    MINUTES, each happening as it is sent; the live dashboard shows its sales within seconds."""
    from retail.deploy import start_run

    settings = load_settings()
    try:
        link = start_run(settings, "generate-events/live-shop", {"count": int(rate * minutes * 60), "rate": rate})
    except RuntimeError as err:
        raise fail(err) from err
    console.print(f"the shop is open for {minutes:.0f} min at {rate:g} events/s: {link}")
