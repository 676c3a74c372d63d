"""Following a flow run from the Prefect API as it works: each step (a subflow run) as it starts and ends, with its
elapsed time and, when it fails, its error at once; the flows' own printed lines (counts, rates) as they come."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
    LogFilterLevel,
    LogFilterTimestamp,
)
from prefect.client.schemas.objects import FlowRun, Log
from prefect.client.schemas.sorting import FlowRunSort, LogSort

from retail.stack.prefect_runs import AWAITING_SLOT

# The logger of a flow's own lines (its prints); the worker and runner log under others.
_FLOW_LOGGER = "prefect.flow_runs"
# What Prefect's engine logs about every run: not news to someone who watches the steps.
_ENGINE = re.compile(
    r"^(Beginning (sub)?flow run|Finished in state|Created task run|Executing|Running|Downloading|Opening"
    r"|Deployment step|All deployment steps|Flow run '|Worker ')"
)


@dataclass(frozen=True)
class Progress:
    """One line of news about a run: a step's start or end (``seconds`` then set), or a line a flow printed."""

    step: str
    event: str  # started, completed, failed, crashed, cancelled, "says" for a printed line, "waits" before a start
    message: str = ""
    seconds: float | None = None


def follow(
    client,
    run_id: UUID,
    emit: Callable[[Progress], None],
    *,
    tick: Callable[[], None] = lambda: None,
    tick_s: float = 30,
    poll_s: float = 1.0,
    timeout_s: float = 3600,
) -> FlowRun:
    """Polls the run and its subflow runs until the run ends, emitting each change once, and calls ``tick`` every
    ``tick_s`` (e.g. a line on the live stream); returns the ended run. Raises TimeoutError after ``timeout_s`` (the
    run goes on)."""
    next_tick = time.monotonic() + tick_s
    announced: set[tuple[UUID, str]] = set()
    waited: set[str] = set()
    names: dict[UUID, str] = {}
    logs_after: datetime | None = None
    deadline = time.monotonic() + timeout_s
    while True:
        run = client.read_flow_run(run_id)
        if (waits := why_waiting(run)) and waits not in waited:
            waited.add(waits)
            emit(Progress("pipeline", "waits", waits))
        steps = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])),
            sort=FlowRunSort.START_TIME_ASC,
        )
        for step in steps:
            if step.flow_id not in names:
                names[step.flow_id] = client.read_flow(step.flow_id).name
        logs = client.read_logs(
            log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[run_id, *(s.id for s in steps)]),
                level=LogFilterLevel(ge_=logging.INFO),
                timestamp=LogFilterTimestamp(after_=logs_after) if logs_after else None,
            ),
            sort=LogSort.TIMESTAMP_ASC,
            limit=200,
        )
        logs = [log for log in logs if logs_after is None or log.timestamp > logs_after]
        if logs:
            logs_after = logs[-1].timestamp
        for key, item in in_order(steps, {s.id: names[s.flow_id] for s in steps}, logs):
            if key is None:
                emit(item)
            elif key not in announced:
                announced.add(key)
                emit(item)
        if run.state is not None and run.state.is_final():
            return run
        if time.monotonic() >= next_tick:
            tick()
            next_tick = time.monotonic() + tick_s
        if time.monotonic() > deadline:
            raise TimeoutError(f"flow run {run_id} did not end within {timeout_s:.0f} s")
        time.sleep(poll_s)


def why_waiting(run: FlowRun) -> str | None:
    """Why a run that has not started yet waits longer than a worker's poll, or None."""
    if run.state is None or not run.state.is_scheduled() or run.state.name == "Scheduled":
        return None
    if run.state.name == AWAITING_SLOT:
        return "waits for its deployment's slot: another run of it has not ended (one runs at a time)"
    return f"{run.state.name.lower()}: waits for a worker of its work pool to pick it up"


def in_order(
    steps: list[FlowRun], names: dict[UUID, str], logs: list[Log]
) -> list[tuple[tuple[UUID, str] | None, Progress]]:
    """The news in one look at a run, in the order it happened: each step's start and end (keyed by step run and
    event, to be told once) and the flows' own printed lines (no key: each log is read once). A step that ended and
    the next that began between two looks come out as ended, then began."""
    dated = [(at, (s.id, n.event), n) for s in steps for at, n in _step_news(s, names[s.id])]
    dated += [
        (log.timestamp, None, Progress(names.get(log.flow_run_id, "pipeline"), "says", log.message))
        for log in logs
        if log.name == _FLOW_LOGGER and log.task_run_id is None and not _ENGINE.match(log.message)
    ]
    return [(key, item) for _, key, item in sorted(dated, key=lambda news: news[0])]


def _step_news(step: FlowRun, name: str) -> list[tuple[datetime, Progress]]:
    news = []
    if step.start_time is not None:
        news.append((step.start_time, Progress(name, "started")))
    if step.state is not None and step.state.is_final():
        seconds = step.total_run_time.total_seconds() if step.total_run_time else None
        message = "" if step.state.is_completed() else (step.state.message or "")
        ended = step.end_time or step.state.timestamp
        news.append((ended, Progress(name, step.state.type.value.lower(), message, seconds)))
    return news
