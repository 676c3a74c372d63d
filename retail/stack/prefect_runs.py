"""The local Prefect worker's flow runs when the stack stops: their processes go with the worker, so Prefect is told
(they would stay "running" for ever, and a stream run would keep the one stream concurrency slot)."""

from __future__ import annotations

import contextlib

STREAM_SLOT = "retail-stream"  # the one slot the catch-up and the long-running stream share


def abandon_runs(api_url: str, work_pool: str) -> None:
    """Marks the work pool's running and pending flow runs cancelled and frees the stream slot."""
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

    states = FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])
    live, pool = (
        FlowRunFilter(state=FlowRunFilterState(type=states)),
        WorkPoolFilter(name=WorkPoolFilterName(any_=[work_pool])),
    )
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=live, work_pool_filter=pool):
            client.set_flow_run_state(run.id, Cancelled(message="the local stack stopped"), force=True)
        with contextlib.suppress(ObjectNotFound):
            client.update_global_concurrency_limit(STREAM_SLOT, GlobalConcurrencyLimitUpdate(active_slots=0))
