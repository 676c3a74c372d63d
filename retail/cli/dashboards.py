"""``retail dashboards ...``: Superset's login, the dashboards-as-code import, and the dbt docs of gold."""

from __future__ import annotations

from typing import Annotated

import typer

from retail.cli.common import console, fail, load_settings

app = typer.Typer(help="Superset dashboards over gold, and the dbt docs site.", no_args_is_help=True)


@app.command("import")
def import_() -> None:
    """Create or update the dashboards from dashboards/dashboards.yml and the gold contracts; remove deleted ones."""
    from retail.dashboards.superset import SupersetError, import_dashboards

    settings = load_settings()
    try:
        result = import_dashboards(settings)
    except (SupersetError, FileNotFoundError) as err:
        raise fail(err) from err
    for key, url in result.dashboards.items():
        console.print(f"{key}: {url}")
    if result.deleted:
        console.print(f"removed (no longer in dashboards/dashboards.yml): {', '.join(result.deleted)}")


@app.command()
def login() -> None:
    """Show Superset's address and the admin login generated on its first start."""
    from retail.dashboards.secrets import read_secrets
    from retail.dashboards.superset import superset_url

    settings = load_settings()
    try:
        secrets = read_secrets(settings.stack.home / "superset")
    except FileNotFoundError as err:
        raise fail(err) from err
    console.print(f"Superset: {superset_url(settings)}/superset/dashboard/retail-sales/")
    console.print(f"  user {secrets.admin_user}, password {secrets.admin_password.get_secret_value()}")
    console.print(f"  (kept in {settings.stack.home / 'superset' / 'secrets.json'}, readable by you only)")


@app.command()
def docs(port: Annotated[int, typer.Option(help="port on the stack's host")] = 8089) -> None:
    """Serve the dbt docs site of the published gold build (models, columns, lineage graph) until Ctrl-C."""
    from retail.dashboards.docs import serve_docs
    from retail.gold import GoldError

    settings = load_settings()
    try:
        serve_docs(settings, port, ready=lambda url: console.print(f"dbt docs of the published gold: {url}"))
    except (GoldError, OSError) as err:
        raise fail(err) from err
