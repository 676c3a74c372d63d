"""``retail doctor``: what the platform needs from this machine, in one table with what to do for each problem."""

from __future__ import annotations

import typer
from rich.table import Table

from retail.cli.common import console, load_settings
from retail.doctor import Verdict, diagnose

_STYLE = {Verdict.OK: "green", Verdict.WARN: "yellow", Verdict.FAIL: "bold red"}


def doctor() -> None:
    """Check Java, disk, memory, downloaded artifacts, ports and every service's health; exit 1 on any failure."""
    findings = diagnose(load_settings())
    table = Table(title="retail doctor")
    for column in ("check", "", "what is there", "what to do"):
        table.add_column(column)
    for f in findings:
        table.add_row(f.check, f"[{_STYLE[f.verdict]}]{f.verdict}[/]", f.detail, f.fix)
    console.print(table)
    failed = [f.check for f in findings if f.verdict is Verdict.FAIL]
    if failed:
        console.print(f"[bold red]{len(failed)} problem(s) stop the platform:[/] {', '.join(failed)}")
        raise typer.Exit(1)
    warned = any(f.verdict is Verdict.WARN for f in findings)
    console.print("nothing stops the platform" + (" (see the warnings)" if warned else ""))
