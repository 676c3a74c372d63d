"""``retail pipeline`` and ``retail cql``: the end-to-end deployment run through Prefect, and a look at Cassandra."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from retail.cli.common import console, fail, load_settings
from retail.settings import shareable_variables

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

    from retail.run_progress import Progress

DEPLOYMENT = "retail-pipeline/daily"


def pipeline(
    count: Annotated[int, typer.Option(help="events to send to Kafka")] = 20_000,
    csv_count: Annotated[int, typer.Option(help="events to write as the CSV batch")] = 3_000,
    bad_fraction: Annotated[float, typer.Option(help="share of bad records of every kind")] = 0.05,
    producers: Annotated[int, typer.Option(help="generator processes sending to Kafka")] = 1,
) -> None:
    """Run the end-to-end deployment (generate, bronze, silver, gold) on the stack's worker, showing each step as it
    starts and ends; then say where to look. The run gets this shell's RETAIL_* settings but its secrets: those it
    reads from the worker's own environment (the shell that ran `retail stack up`, or `.env` in the repo root)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from retail.run_progress import follow

    settings = load_settings()
    api = settings.endpoints().prefect_api_url
    ui = api.removesuffix("/api")
    parameters = {"count": count, "csv_count": csv_count, "bad_fraction": bad_fraction, "producers": producers}
    began = time.monotonic()
    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(DEPLOYMENT)
        except Exception as err:
            raise fail(f"no deployment {DEPLOYMENT} at {api} ({err}); run `./run deploy` first") from err
        run = start_run(client, deployment.id, parameters, os.environ)
        link = f"{ui}/runs/flow-run/{run.id}"
        console.print(f"running {DEPLOYMENT} on the work pool {settings.work_pool}: {link}")
        ended = follow(client, run.id, partial(_show, began=began, link=link), tick=partial(_live, settings, began))
    seconds = time.monotonic() - began
    if not ended.state.is_completed():
        raise fail(f"{DEPLOYMENT} ended {ended.state.type.value.lower()} after {seconds:.0f} s: {ended.state.message}")
    console.print(f"[green]{DEPLOYMENT} completed[/] in {seconds:.0f} s")
    _where_to_look(settings, link)


def start_run(
    client: SyncPrefectClient, deployment_id, parameters: dict[str, object], environ: Mapping[str, str]
) -> FlowRun:
    """Returns the flow run created from the deployment with ``parameters`` and, as its environment, the settings of
    ``environ`` that hold no secret: Prefect stores job variables in plain text and shows them in its UI."""
    job_variables = {"env": shareable_variables(environ)}
    return client.create_flow_run_from_deployment(deployment_id, parameters=parameters, job_variables=job_variables)


def _live(settings, began: float) -> None:
    from retail.stream_status import live_line

    try:
        line = live_line(settings)
    except Exception as err:  # noqa: BLE001 (a line of news: the run goes on either way)
        line = f"stream: status unavailable ({err})"
    console.print(f"[dim]{time.monotonic() - began:6.0f} s[/]   [cyan]{line}[/]", highlight=False)


def _show(news: Progress, began: float, link: str) -> None:
    at = f"[dim]{time.monotonic() - began:6.0f} s[/]"
    if news.event == "started":
        console.print(f"{at} [bold]▶ {news.step}[/]")
    elif news.event == "completed":
        console.print(f"{at} [green]✓ {news.step}[/] ({news.seconds:.1f} s)")
    elif news.event == "waits":
        console.print(f"{at}   [yellow]{news.message}[/] (see {link})", highlight=False)
    elif news.event == "says":
        console.print(f"{at}   {news.step}: {news.message}", highlight=False)
    else:
        console.print(f"{at} [bold red]✗ {news.step} {news.event}[/]: {news.message} (see {link})")


def _where_to_look(settings, link: str) -> None:
    from retail.gold import MARTS, current, headline

    gold = current(settings)
    figures = headline(gold / "warehouse.duckdb")
    best = max(figures["orders_per_customer"].items(), key=lambda kv: kv[1], default=("", 0))[0]
    keyspace = settings.cassandra_keyspace
    console.print(f"[green]done[/]: {figures['orders']:,} orders, revenue {figures['revenue']} in gold")
    console.print(f"  this run, its logs and artifacts (data quality, gold figures, freshness): {link}")
    console.print(f"  gold warehouse: {gold / 'warehouse.duckdb'} (tables: {', '.join(MARTS)})")
    console.print(f"  gold files: {gold / 'parquet'} and {gold / 'csv'}; dbt docs: {gold / 'docs' / 'index.html'}")
    console.print("  gold figures again: ./run gold show")
    console.print("  real-time reads in Cassandra, e.g.:")
    for statement in (
        f"SELECT order_id, total_amount, purchase_date FROM {keyspace}.purchases_by_customer "
        f"WHERE customer_id = '{best}' LIMIT 5",
        f"SELECT * FROM {keyspace}.customer_by_id WHERE customer_id = '{best}'",
        f"SELECT sum(total_amount), count(*) FROM {keyspace}.sales_by_minute "
        f"WHERE minute = '{next(iter(figures['revenue_per_day']), '2026-01-01')} 12:00:00+0000'",
    ):
        console.print(f'    ./run cql "{statement}"')


def cql(statement: Annotated[str, typer.Argument(help="one CQL statement")]) -> None:
    """Run one CQL statement against the configured Cassandra and print the rows."""
    from cassandra import DriverException

    from retail.cassandra import CassandraTarget

    settings = load_settings()
    cluster = CassandraTarget.from_settings(settings).connect()
    try:
        rows = cluster.connect().execute(statement)
        table = Table(*rows.column_names) if rows.column_names else Table("result")
        for row in rows:  # further pages are fetched while iterating: before shutdown
            table.add_row(*(str(v) for v in row))
    except DriverException as err:
        raise fail(err) from err
    finally:
        cluster.shutdown()
    console.print(table)
