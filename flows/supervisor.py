"""``stream-supervisor``: checks the long-running stream (a live run, consumer lag, time of the last batch) and
restarts it when it is down or stuck."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment

from retail.settings import Settings
from retail.stream_status import stream_status

LIVE = [StateType.RUNNING, StateType.PENDING, StateType.SCHEDULED]


@task(retries=2, retry_delay_seconds=5, timeout_seconds=60, cache_policy=NO_CACHE)
def check_stream(settings: Settings) -> dict:
    """Returns the last batch, seconds since it was committed, and the lag per topic."""
    status = stream_status(settings)
    return {
        "last_batch": status.last_batch,
        "seconds_since_commit": status.seconds_since_commit(),
        "lag": status.lag,
        "total_lag": status.total_lag,
    }


@task(timeout_seconds=30, cache_policy=NO_CACHE)
def live_runs(deployment: str) -> list[str]:
    """Returns the ids of the deployment's flow runs that are scheduled, pending or running."""
    live = FlowRunFilterState(type=FlowRunFilterStateType(any_=LIVE))
    with get_client(sync_client=True) as client:
        target = client.read_deployment_by_name(deployment)
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(deployment_id={"any_": [target.id]}, state=live))
    return [str(r.id) for r in runs]


@task(timeout_seconds=60, cache_policy=NO_CACHE)
def restart_stream(deployment: str, stuck_runs: list[str]) -> str:
    """Cancels ``stuck_runs`` and starts a new run of the deployment; returns the new run's id."""
    from prefect.states import Cancelling

    with get_client(sync_client=True) as client:
        for run_id in stuck_runs:
            client.set_flow_run_state(run_id, Cancelling(message="stream supervisor: stuck"), force=True)
    return str(run_deployment(deployment, timeout=0).id)


def verdict(live_runs: int, total_lag: int, seconds_since_commit: float | None, stuck_after_s: float) -> str:
    """Returns what the supervisor makes of the stream: ``no live run``, ``stuck`` (records wait in Kafka and no
    batch was committed for ``stuck_after_s``, or ever) or ``healthy``."""
    if not live_runs:
        return "no live run"
    waited_too_long = seconds_since_commit is None or seconds_since_commit > stuck_after_s
    return "stuck" if total_lag > 0 and waited_too_long else "healthy"


@flow(name="stream-supervisor", log_prints=True)
def supervise_stream(deployment: str = "stream-forever/continuous", stuck_after_s: float = 300.0) -> dict:
    """Restarts the stream when no run of ``deployment`` is live, or when records wait in Kafka and no batch was
    committed for ``stuck_after_s``; publishes what it saw as the ``stream-health`` artifact."""
    settings = Settings()
    status = check_stream(settings)
    runs = live_runs(deployment)
    reason = verdict(len(runs), status["total_lag"], status["seconds_since_commit"], stuck_after_s)
    action = "none"
    if reason != "healthy":
        action = f"restarted as run {restart_stream(deployment, runs if reason == 'stuck' else [])}"
    print(f"stream {reason}: {status}; action {action}")
    create_table_artifact(
        [{**status, "lag": str(status["lag"]), "live_runs": len(runs), "verdict": reason, "action": action}],
        key="stream-health",
    )
    return {**status, "live_runs": runs, "verdict": reason, "action": action}
