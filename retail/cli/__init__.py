"""The ``retail`` command line: the local stack, the event sources, bronze, silver, gold and the smoke run."""

from retail.cli import bronze, chaos, containers, dashboards, deploy, doctor, generate, gold, pipeline, stack
from retail.cli.common import app

app.add_typer(stack.app, name="stack")
app.add_typer(generate.app, name="generate")
app.add_typer(bronze.app, name="bronze")
app.add_typer(gold.app, name="gold")
app.add_typer(dashboards.app, name="dashboards")
app.add_typer(containers.engine_app, name="engine")
app.command()(stack.smoke)
app.command()(deploy.deploy)
app.command()(doctor.doctor)
app.command()(chaos.chaos)
app.command()(pipeline.pipeline)
app.command()(pipeline.cql)
app.command()(generate.topics)
app.command()(containers.images)

__all__ = ["app"]
