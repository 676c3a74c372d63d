"""Deploys every flow of ``deployments/prefect.yaml`` to the configured Prefect server, non-interactively, and makes
the concurrency limit the stream flows share."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from retail.settings import REPO_ROOT, Settings
from retail.stack.prefect_runs import STREAM_SLOT

PREFECT_FILE = REPO_ROOT / "deployments" / "prefect.yaml"


def deploy(settings: Settings, *, paused: bool = False) -> list[str]:
    """Deploys all flows; returns each deployment's name and entrypoint. Raises RuntimeError with Prefect's output
    when the server refuses or cannot be reached. ``paused``: the deployments are created paused, so no schedule
    fires, not even between deploying and pausing (runs start only when asked for); otherwise they are resumed."""
    import yaml

    api = settings.endpoints().prefect_api_url
    env = {**os.environ, "PREFECT_API_URL": api, "RETAIL_REPO_ROOT": str(REPO_ROOT)}
    prefect = str(Path(sys.executable).parent / "prefect")
    spec = yaml.safe_load(PREFECT_FILE.read_text())
    for deployment in spec["deployments"]:
        deployment["paused"] = paused
    with tempfile.TemporaryDirectory(prefix="retail-deploy-") as folder:
        prefect_file = Path(folder) / PREFECT_FILE.name
        prefect_file.write_text(yaml.safe_dump(spec, sort_keys=False))
        done = subprocess.run(
            [prefect, "--no-prompt", "deploy", "--all", "--prefect-file", str(prefect_file)],
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


def start_run(settings: Settings, deployment: str, parameters: dict | None = None) -> str:
    """Starts a run of ``deployment`` (``flow/deployment``) on the stack's worker; returns its page in the Prefect UI.
    Raises RuntimeError saying what to run when the deployment is not there."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = settings.endpoints().prefect_api_url
    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        try:
            found = client.read_deployment_by_name(deployment)
        except Exception as err:
            raise RuntimeError(f"no deployment {deployment} at {api} ({err}); run `./run deploy` first") from err
        run = client.create_flow_run_from_deployment(found.id, parameters=parameters or {})
    return f"{api.removesuffix('/api')}/runs/flow-run/{run.id}"
