"""``retail pipeline`` and ``retail cql``: the end-to-end deployment run through Prefect, and a look at Cassandra."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from retail.cli.common import console, fail, load_settings

DEPLOYMENT = "retail-pipeline/daily"


def pipeline(
    count: Annotated[int, typer.Option(help="events to send to Kafka")] = 20_000,
    csv_count: Annotated[int, typer.Option(help="events to write as the CSV batch")] = 3_000,
) -> None:
    """Run the end-to-end deployment (generate, bronze, silver, gold) on the stack's worker and wait for it; then
    say where to look."""
    settings = load_settings()
    api = settings.endpoints().prefect_api_url
    ui = api.removesuffix("/api")
    command = [
        str(Path(sys.executable).parent / "prefect"),
        "deployment",
        "run",
        DEPLOYMENT,
        "--param",
        f"count={count}",
        "--param",
        f"csv_count={csv_count}",
        "--watch",
        "--watch-timeout",
        "3600",
    ]
    console.print(f"running {DEPLOYMENT} on the work pool {settings.work_pool} (follow it at {ui}/runs)")
    done = subprocess.run(command, env={**os.environ, "PREFECT_API_URL": api}, capture_output=True, text=True)
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", done.stdout)
    link = f"{ui}/runs/flow-run/{run_id.group(1)}" if run_id else f"{ui}/runs"
    if done.returncode != 0 or "Completed" not in done.stdout:
        raise fail(f"{DEPLOYMENT} did not complete; see {link}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    _where_to_look(settings, link)


def _where_to_look(settings, link: str) -> None:
    from retail.gold import MARTS, current, headline

    gold = current(settings)
    figures = headline(gold / "warehouse.duckdb")
    best = max(figures["orders_per_customer"].items(), key=lambda kv: kv[1], default=("C0000001", 0))[0]
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
        f"SELECT minute, revenue, orders FROM {keyspace}.sales_per_minute "
        f"WHERE sale_date = '{next(iter(figures['revenue_per_day']), '2026-01-01')}' LIMIT 5",
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
