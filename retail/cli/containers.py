"""``retail engine ...`` and ``retail images``: the Docker engine of the container path and the project's images."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from retail.cli.common import console, fail, load_settings
from retail.containers.engine import ensure_engine, find_engine, stop_engine
from retail.containers.images import build_images
from retail.stack import StackError

engine_app = typer.Typer(help="The Docker engine the container path runs on.", no_args_is_help=True)


@engine_app.command("up")
def engine_up() -> None:
    """Use the Docker engine that answers, or start the project's own (installing Debian's docker.io as root)."""
    try:
        engine = ensure_engine(load_settings(), report=console.log)
    except StackError as err:
        raise fail(err) from err
    console.print(f"[green]engine answers:[/] {engine.describe()}")


@engine_app.command("down")
def engine_down() -> None:
    """Stop the project's own engine (a user's engine is never touched)."""
    if not stop_engine(load_settings(), report=console.log):
        console.print("the project's own engine is not running (nothing to stop)")


@engine_app.command("status")
def engine_status() -> None:
    """Say which engine the container path would use (exit 1 when none answers)."""
    engine = find_engine(load_settings())
    if engine is None:
        console.print("no Docker engine answers (`retail engine up` starts one)")
        raise typer.Exit(1)
    console.print(engine.describe())


def images(
    names: Annotated[list[str] | None, typer.Argument(help="only these service images (default: all)")] = None,
) -> None:
    """Build the project's images that are missing (tags are digests of their content: a second run builds none)."""
    settings = load_settings()
    began = time.monotonic()
    try:
        engine = ensure_engine(settings, report=console.log)
        built = build_images(engine, settings, names, report=console.log)
    except StackError as err:
        raise fail(err) from err
    table = Table(title=f"images ({engine.describe()})")
    for column in ("image", "tag", "", "seconds", "size MB"):
        table.add_column(column)
    for b in built:
        table.add_row(b.name, b.tag, "built" if b.built else "there", f"{b.seconds:.1f}", f"{b.size_mb:.0f}")
    console.print(table)
    console.print(f"{sum(b.built for b in built)} built, {time.monotonic() - began:.1f} s")
