"""The ``retail`` command line: the local stack, the event sources, bronze and the smoke run."""

from retail.cli import bronze, sources, stack
from retail.cli.common import app

app.add_typer(stack.app, name="stack")
app.add_typer(sources.app, name="generate")
app.add_typer(bronze.app, name="bronze")
app.command()(stack.smoke)
app.command()(sources.topics)

__all__ = ["app"]
