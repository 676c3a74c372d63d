"""``retail gold ...``: build gold from silver with dbt, and show what is published."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from retail.cli.common import console, fail, load_settings

app = typer.Typer(help="Gold: dbt-duckdb marts from silver, published atomically.", no_args_is_help=True)


@app.command()
def build(
    wait: Annotated[float, typer.Option(help="seconds to wait for a build already running")] = 0.0,
) -> None:
    """Build, test, export and publish gold from silver (dbt build + docs generate)."""
    from retail.gold import GoldError, build_gold

    settings = load_settings()
    try:
        result = build_gold(settings, wait_s=wait, progress=lambda line: console.log(line, highlight=False))
    except GoldError as err:
        raise fail(err) from err
    console.print(f"gold {result.build_id} published in {result.seconds:.1f} s: {settings.gold_path / 'current'}")
    _print(result.rows, result.headline)
    console.print(f"docs: {result.path / 'docs' / 'index.html'}")


@app.command()
def show() -> None:
    """Show the published gold: rows per mart and the headline figures."""
    import duckdb

    from retail.gold import MARTS, GoldError, current, headline

    settings = load_settings()
    try:
        folder = current(settings)
    except GoldError as err:
        raise fail(err) from err
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as db:
        rows = {m: db.execute(f"select count(*) from {m}").fetchone()[0] for m in MARTS}
    console.print(f"gold {folder.name}: {folder}")
    _print(rows, headline(folder / "warehouse.duckdb"))


def _print(rows: dict[str, int], figures: dict[str, object]) -> None:
    table = Table("mart", "rows")
    for mart, n in rows.items():
        table.add_row(mart, f"{n:,}")
    console.print(table)
    segments = ", ".join(f"{k} {v:,}" for k, v in figures["customers_per_segment"].items())
    console.print(
        f"revenue {figures['revenue']}, orders {figures['orders']:,}, units {figures['units']:,}; "
        f"customers by segment: {segments}"
    )
