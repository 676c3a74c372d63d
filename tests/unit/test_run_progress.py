"""The order in which `retail pipeline` tells a run's news: as it happened, even when several things happened between
two looks at the run."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from prefect.client.schemas.objects import FlowRun, Log, State, StateType

from retail.run_progress import in_order, why_waiting

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _step(start_s: float, end_s: float | None = None, state: StateType = StateType.COMPLETED) -> FlowRun:
    ended = end_s is not None
    return FlowRun(
        flow_id=uuid4(),
        start_time=T0 + timedelta(seconds=start_s),
        end_time=T0 + timedelta(seconds=end_s) if ended else None,
        state=State(type=state if ended else StateType.RUNNING, message="boom" if state == StateType.FAILED else None),
    )


def _said(run: FlowRun, at_s: float, message: str, logger: str = "prefect.flow_runs") -> Log:
    return Log(name=logger, level=20, message=message, timestamp=T0 + timedelta(seconds=at_s), flow_run_id=run.id)


def _lines(news) -> list[str]:
    return [f"{item.event} {item.step}" + (f" {item.message}" if item.message else "") for _, item in news]


def test_a_step_that_ended_comes_before_the_next_that_began_in_the_same_look():
    generate, catch_up = _step(0, 10), _step(10.5)
    names = {generate.id: "generate-events", catch_up.id: "stream-catch-up"}

    news = in_order([catch_up, generate], names, [_said(generate, 9, "sent 1,500 events")])

    assert _lines(news) == [
        "started generate-events",
        "says generate-events sent 1,500 events",
        "completed generate-events",
        "started stream-catch-up",
    ]


def test_each_step_event_has_a_key_so_it_is_told_once_and_lines_have_none():
    failed = _step(0, 3, StateType.FAILED)
    news = in_order([failed], {failed.id: "generate-events"}, [_said(failed, 1, "seed 7")])

    assert [key for key, _ in news] == [(failed.id, "started"), None, (failed.id, "failed")]
    assert _lines(news)[-1] == "failed generate-events boom"


def test_the_engines_own_lines_and_other_loggers_are_left_out():
    step = _step(0)
    logs = [
        _said(step, 1, "Beginning subflow run 'x' for flow 'generate-events'"),
        _said(step, 2, "Finished in state Completed()"),
        _said(step, 3, "worker picked it up", logger="prefect.workers"),
        _said(step, 4, "12,000 events/s"),
    ]

    assert _lines(in_order([step], {step.id: "generate-events"}, logs)) == [
        "started generate-events",
        "says generate-events 12,000 events/s",
    ]


def test_a_run_that_waits_says_why_and_a_freshly_scheduled_one_says_nothing():
    def waiting(name: str, state: StateType = StateType.SCHEDULED) -> str | None:
        return why_waiting(FlowRun(flow_id=uuid4(), state=State(type=state, name=name)))

    assert "another run of it has not ended" in waiting("AwaitingConcurrencySlot")
    assert waiting("Late") == "late: waits for a worker of its work pool to pick it up"
    assert waiting("Scheduled") is None and waiting("Running", StateType.RUNNING) is None
