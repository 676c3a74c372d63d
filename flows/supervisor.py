"""``stream-supervisor``: checks the long-running stream (a live run, consumer lag, time of the last batch) and
restarts it when it is down or stuck: at once after one failure, then with a doubling wait while it keeps failing,
saying each time why the last run failed.

Stuck means: records wait in Kafka and more than ``stuck_after_s`` passed without a commit, counted from the latest
of three moments: the last commit; the current (newest live) run's start, so that a new run's Spark start-up and
first, backlog batch get the whole ``stuck_after_s``; and the produce time of the oldest record not yet read, since
after a quiet spell the last commit is old only because nothing came. That record's timestamp is the supervisor's
memory across its ticks: each tick is a new flow run and needs nothing kept from the last one."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments import run_deployment

from retail.settings import Settings
from retail.stream_status import stream_status

LIVE = [StateType.RUNNING, StateType.PENDING, StateType.SCHEDULED]
FAILED = (StateType.FAILED, StateType.CRASHED)
FIRST_WAIT_S, LONGEST_WAIT_S = 60.0, 1800.0


@task(retries=2, retry_delay_seconds=5, timeout_seconds=60, cache_policy=NO_CACHE)
def check_stream(settings: Settings) -> dict:
    """Returns the last batch, seconds since it was committed, the lag per topic, and seconds since the oldest
    record not yet read was produced (None when nothing waits)."""
    status = stream_status(settings, waiting_since=True)
    waiting = status.waiting_since
    return {
        "last_batch": status.last_batch,
        "seconds_since_commit": status.seconds_since_commit(),
        "lag": status.lag,
        "total_lag": status.total_lag,
        "seconds_waiting": None if waiting is None else (datetime.now(UTC) - waiting).total_seconds(),
    }


@task(timeout_seconds=30, cache_policy=NO_CACHE)
def live_runs(deployment: str) -> dict[str, float]:
    """Returns the deployment's flow runs that are scheduled, pending or running: run id -> seconds since it started
    (one not started yet: since it was due to start)."""
    live = FlowRunFilterState(type=FlowRunFilterStateType(any_=LIVE))
    with get_client(sync_client=True) as client:
        target = client.read_deployment_by_name(deployment)
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(deployment_id={"any_": [target.id]}, state=live))
    now = datetime.now(UTC)
    return {str(r.id): (now - (r.start_time or r.expected_start_time or r.created)).total_seconds() for r in runs}


@task(timeout_seconds=30, cache_policy=NO_CACHE)
def failures_in_a_row(deployment: str) -> dict:
    """Returns how many of the deployment's latest runs failed or crashed in a row, how long ago the last of them
    ended (seconds) and why it failed."""
    with get_client(sync_client=True) as client:
        target = client.read_deployment_by_name(deployment)
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(deployment_id={"any_": [target.id]}),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=20,
        )
    ended = [r for r in runs if r.state is not None and r.state.is_final()]
    failed = list(itertools.takewhile(lambda r: r.state.type in FAILED, ended))
    if not failed:
        return {"failures": 0, "seconds_since_failure": None, "why": ""}
    last = failed[0]
    at = last.end_time or last.state.timestamp
    return {
        "failures": len(failed),
        "seconds_since_failure": (datetime.now(UTC) - at).total_seconds(),
        "why": f"{last.state.name}: {last.state.message or 'no message'}",
    }


def backoff_s(failures: int) -> float:
    """Returns how long to wait after the last failure before the next restart: none after one failure, then a
    minute doubling with every failure in a row, at most half an hour."""
    if failures <= 1:
        return 0.0
    return min(FIRST_WAIT_S * 2 ** (failures - 2), LONGEST_WAIT_S)


@task(timeout_seconds=60, cache_policy=NO_CACHE)
def restart_stream(deployment: str, stuck_runs: list[str]) -> str:
    """Cancels ``stuck_runs`` and starts a new run of the deployment; returns the new run's id."""
    from prefect.states import Cancelling

    with get_client(sync_client=True) as client:
        for run_id in stuck_runs:
            client.set_flow_run_state(run_id, Cancelling(message="stream supervisor: stuck"), force=True)
    return str(run_deployment(deployment, timeout=0).id)


def verdict(
    live_runs: int,
    total_lag: int,
    stuck_after_s: float,
    *,
    since_commit: float | None,
    since_run_start: float | None,
    since_waiting: float | None,
) -> str:
    """Returns what the supervisor makes of the stream: ``no live run``, ``stuck`` or ``healthy``.

    Stuck: records wait in Kafka (``total_lag``) and more than ``stuck_after_s`` seconds passed since the latest of
    the last commit, the current run's start and the produce time of the oldest waiting record. Each ``since_*`` is
    seconds ago, None when unknown (no commit yet, nothing read); when all are unknown, waiting records mean stuck."""
    if not live_runs:
        return "no live run"
    known = [s for s in (since_commit, since_run_start, since_waiting) if s is not None]
    quiet_s = min(known, default=None)
    return "stuck" if total_lag > 0 and (quiet_s is None or quiet_s > stuck_after_s) else "healthy"


@flow(name="stream-supervisor", log_prints=True)
def supervise_stream(deployment: str = "stream-forever/continuous", stuck_after_s: float = 300.0) -> dict:
    """Restarts the stream when no run of ``deployment`` is live, or when it is stuck (see the module docstring:
    records waited ``stuck_after_s`` with no commit, counted from the latest of the last commit, the current run's
    start and the oldest waiting record); publishes what it saw as the ``stream-health`` artifact."""
    settings = Settings()
    status = check_stream(settings)
    runs = live_runs(deployment)
    since_run_start = min(runs.values(), default=None)  # the newest live run is the current one
    reason = verdict(
        len(runs),
        status["total_lag"],
        stuck_after_s,
        since_commit=status["seconds_since_commit"],
        since_run_start=since_run_start,
        since_waiting=status["seconds_waiting"],
    )
    action, why = "none", ""
    if reason == "no live run":
        failed = failures_in_a_row(deployment)
        why = failed["why"]
        wait = backoff_s(failed["failures"]) - (failed["seconds_since_failure"] or 0.0)
        if wait > 0:
            action = f"waiting {wait:.0f} s more: {failed['failures']} failed runs in a row"
    if reason != "healthy" and action == "none":
        action = f"restarted as run {restart_stream(deployment, list(runs) if reason == 'stuck' else [])}"
    seen = {**status, "seconds_since_run_start": since_run_start}
    print(f"stream {reason}: {seen}; action {action}" + (f"; the last run failed with {why}" if why else ""))
    row = {**seen, "lag": str(status["lag"]), "live_runs": len(runs), "verdict": reason, "action": action}
    create_table_artifact([{**row, "last_failure": why}], key="stream-health")
    return {**seen, "live_runs": list(runs), "verdict": reason, "action": action, "last_failure": why}
