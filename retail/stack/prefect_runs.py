"""The local Prefect worker's flow runs when the worker stops: their processes go with it, so Prefect is told (they
would stay "running" for ever, keep their deployment's concurrency slot and the one stream slot, and every later run
of that deployment would wait for a slot that never frees)."""

from __future__ import annotations

import contextlib

STREAM_SLOT = "retail-stream"  # the one slot the catch-up and the long-running stream share
AWAITING_SLOT = "AwaitingConcurrencySlot"  # Prefect's name for a scheduled run queued behind a deployment's limit


def abandon_runs(api_url: str, work_pool: str, reason: str = "the local stack stopped") -> list[str]:
    """Marks the work pool's running, pending and cancelling flow runs cancelled, with the runs queued behind them
    for a concurrency slot, and frees the stream slot; returns the names of the runs cancelled."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Cancelled

    states = [StateType.RUNNING, StateType.PENDING, StateType.CANCELLING, StateType.SCHEDULED]
    live, pool = (
        FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states))),
        WorkPoolFilter(name=WorkPoolFilterName(any_=[work_pool])),
    )
    cancelled = []
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=live, work_pool_filter=pool):
            if run.state.type == StateType.SCHEDULED and run.state.name != AWAITING_SLOT:
                continue  # a schedule's next run: it runs when a worker is back
            # Forced: the run's process is gone and cannot agree. Leaving Pending or Running releases the
            # deployment's slot, also when the server lost the slot's lease in a restart.
            client.set_flow_run_state(run.id, Cancelled(message=reason), force=True)
            cancelled.append(run.name)
        with contextlib.suppress(ObjectNotFound):
            client.update_global_concurrency_limit(STREAM_SLOT, GlobalConcurrencyLimitUpdate(active_slots=0))
    return cancelled
