"""The ``retail`` command line: the local stack and the smoke run."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from retail.settings import Settings
from retail.stack import Stack, StackError

app = typer.Typer(help="Real-time retail analytics platform.", no_args_is_help=True)
stack_app = typer.Typer(help="The native local stack: Kafka, HDFS, Cassandra, Spark, Prefect.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
# Piped output (CI logs, terraform) would otherwise be cut at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as err:
        err_console.print(f"[red]configuration error:[/] {err}")
        raise typer.Exit(2) from err


def _fail(err: Exception) -> typer.Exit:
    err_console.print(f"[red]error:[/] {err}")
    return typer.Exit(1)


@stack_app.command()
def up() -> None:
    """Start every service that is not running and wait until all are healthy."""
    stack = Stack(_settings())
    began = time.monotonic()
    try:
        with console.status("bringing the stack up") as spinner:

            def report(message: str) -> None:
                console.log(message)
                spinner.update(message)

            started = stack.up(report)
    except StackError as err:
        raise _fail(err) from err
    console.print(f"[green]stack is up[/] ({len(started)} started, {time.monotonic() - began:.1f} s)")
    _print_status(stack)


@stack_app.command()
def down() -> None:
    """Stop the processes the stack started (and nothing else)."""
    stopped = Stack(_settings()).down(report=console.log)
    console.print(f"stopped {len(stopped)} service(s)")


@stack_app.command()
def status() -> None:
    """Show each service's ports, pid, health and memory."""
    _print_status(Stack(_settings()))


@stack_app.command()
def logs(
    service: str,
    lines: Annotated[int, typer.Option("--lines", "-n", help="how many lines")] = 50,
) -> None:
    """Print the tail of one service's log."""
    stack = Stack(_settings())
    try:
        stack.service(service)
    except StackError as err:
        raise _fail(err) from err
    from retail.stack.process import log_tail

    path = stack.layout.log(service)
    console.print(f"[dim]{path}[/]")
    print(log_tail(path, lines))


@stack_app.command()
def endpoints(as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False) -> None:
    """Print where each service answers, as the platform's code sees it."""
    values = _settings().endpoints().as_dict()
    if as_json:
        print(json.dumps(values, indent=2))
        return
    for name, value in values.items():
        console.print(f"{name:<24} {value}")


@app.command()
def smoke() -> None:
    """Prove every service end to end: Kafka, Cassandra, Spark on HDFS, WebHDFS and a Prefect flow run."""
    from retail import smoke as checks

    settings = _settings()
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
            row.url,
        )
    table.add_row("[bold]total[/]", "", "", "", f"[bold]{total / 2**20:.0f}[/]", "", "")
    console.print(table)
