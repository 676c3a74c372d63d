"""``retail stack ...`` and ``retail smoke``: the native local stack and a round trip through every service."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table

from retail.cli.common import console, err_console, fail, load_settings
from retail.stack import Stack, StackError

app = typer.Typer(help="The native local stack: Kafka, HDFS, Cassandra, Spark, Prefect.", no_args_is_help=True)


@app.command()
def up() -> None:
    """Start every service that is not running and wait until all are healthy."""
    stack = Stack(load_settings())
    began = time.monotonic()
    try:
        with console.status("bringing the stack up") as spinner:

            def report(message: str) -> None:
                console.log(message)
                spinner.update(message)

            started = stack.up(report)
    except StackError as err:
        raise fail(err) from err
    console.print(f"[green]stack is up[/] ({len(started)} started, {time.monotonic() - began:.1f} s)")
    _print_status(stack)


@app.command()
def down() -> None:
    """Stop the processes the stack started (and nothing else)."""
    stopped = Stack(load_settings()).down(report=console.log)
    console.print(f"stopped {len(stopped)} service(s)")


@app.command()
def status() -> None:
    """Show each service's ports, pid, health and memory."""
    _print_status(Stack(load_settings()))


@app.command()
def logs(
    service: str,
    lines: Annotated[int, typer.Option("--lines", "-n", help="how many lines")] = 50,
) -> None:
    """Print the tail of one service's log."""
    stack = Stack(load_settings())
    try:
        stack.service(service)
    except StackError as err:
        raise fail(err) from err
    from retail.stack.process import log_tail

    path = stack.layout.log(service)
    console.print(f"[dim]{path}[/]")
    print(log_tail(path, lines))


@app.command()
def endpoints(as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False) -> None:
    """Print where each service answers, as the platform's code sees it."""
    values = load_settings().endpoints().as_dict()
    if as_json:
        print(json.dumps(values, indent=2))
        return
    for name, value in values.items():
        console.print(f"{name:<24} {value}")


def smoke() -> None:
    """Prove every service end to end: Kafka, Cassandra, Spark on HDFS, WebHDFS and a Prefect flow run."""
    from retail import smoke as checks

    settings = load_settings()
    failed = False
    for name, check in checks.CHECKS.items():
        began = time.monotonic()
        try:
            detail = check(settings)
        except Exception as err:  # noqa: BLE001 - every failure is reported, the run goes on
            failed = True
            err_console.print(f"[red]✗ {name}[/]: {err}")
            continue
        console.print(f"[green]✓ {name}[/] ({time.monotonic() - began:.1f} s): {detail}")
    if failed:
        raise typer.Exit(1)


def _print_status(stack: Stack) -> None:
    table = Table("service", "ports", "pid", "health", "RSS MiB", "heap MiB", "endpoint")
    total = 0
    for row in stack.status():
        total += row.rss_bytes
        health = "[green]healthy[/]" if row.healthy else ("[red]unhealthy[/]" if row.pid else "[dim]stopped[/]")
        table.add_row(
            row.name,
            ",".join(map(str, row.ports)),
            str(row.pid or "-"),
            health,
            f"{row.rss_bytes / 2**20:.0f}",
            str(row.heap_mb or "-"),
            row.address,
        )
    table.add_row("[bold]total[/]", "", "", "", f"[bold]{total / 2**20:.0f}[/]", "", "")
    console.print(table)
