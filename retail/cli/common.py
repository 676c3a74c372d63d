"""What every command shares: the root app, consoles, settings with a readable error, and failure exits."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from retail.settings import Settings

app = typer.Typer(help="Real-time retail analytics platform.", no_args_is_help=True)
# Piped output (CI logs, terraform) would otherwise be cut at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


def load_settings() -> Settings:
    """Returns the settings, or exits with what is wrong with them."""
    try:
        return Settings()
    except ValidationError as err:
        err_console.print(f"[red]configuration error:[/] {err}")
        raise typer.Exit(2) from err


def fail(err: Exception | str) -> typer.Exit:
    """Prints the error and returns the exit to raise."""
    err_console.print(f"[red]error:[/] {err}")
    return typer.Exit(1)
