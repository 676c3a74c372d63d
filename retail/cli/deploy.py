"""``retail deploy``: the flows of deployments/prefect.yaml on the Prefect server."""

from __future__ import annotations

from typing import Annotated

import typer

from retail.cli.common import console, fail, load_settings


def deploy(
    paused: Annotated[bool, typer.Option("--paused", help="schedules off: runs start only when asked for")] = False,
) -> None:
    """Deploy every flow of deployments/prefect.yaml to the Prefect server; the stack's worker runs them."""
    from retail.deploy import deploy as deploy_all

    settings = load_settings()
    try:
        names = deploy_all(settings, paused=paused)
    except RuntimeError as err:
        raise fail(err) from err
    console.print(f"deployed to {settings.endpoints().prefect_api_url}: {', '.join(names)}")
