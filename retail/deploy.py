"""Deploys every flow of ``deployments/prefect.yaml`` to the configured Prefect server, non-interactively, and makes
the concurrency limit the stream flows share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from retail.settings import REPO_ROOT, Settings
from retail.stack.prefect_runs import STREAM_SLOT

PREFECT_FILE = REPO_ROOT / "deployments" / "prefect.yaml"


def deploy(settings: Settings, *, paused: bool = False) -> list[str]:
    """Deploys all flows; returns each deployment's name and entrypoint. Raises RuntimeError with Prefect's output
    when the server refuses or cannot be reached. ``paused``: no schedule fires (runs start only when asked for)."""
    import yaml

    api = settings.endpoints().prefect_api_url
    env = {**os.environ, "PREFECT_API_URL": api, "RETAIL_REPO_ROOT": str(REPO_ROOT)}
    prefect = str(Path(sys.executable).parent / "prefect")
    done = subprocess.run(
        [prefect, "--no-prompt", "deploy", "--all", "--prefect-file", str(PREFECT_FILE)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"prefect deploy failed against {api} (is the server up? `retail stack status`):\n"
            f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    ensure_stream_slot(api)
    if paused:
        pause_all(api)
    spec = yaml.safe_load(PREFECT_FILE.read_text())
    return [f"{d['name']} ({d['entrypoint']})" for d in spec["deployments"]]


def ensure_stream_slot(api_url: str) -> None:
    """Creates the one-slot ``retail-stream`` concurrency limit unless it exists."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(STREAM_SLOT)
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=STREAM_SLOT, limit=1))


def pause_all(api_url: str) -> None:
    """Pauses every deployment of this project: their schedules stop firing; runs asked for still run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        ours = DeploymentFilter(tags=DeploymentFilterTags(all_=["retail"]))
        for deployment in client.read_deployments(deployment_filter=ours):
            client.pause_deployment(deployment.id)
