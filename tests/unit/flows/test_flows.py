"""Flow wiring under a real (throwaway) Prefect server: the steps run in order with the right arguments, and the
supervisor restarts the stream exactly when it should. Tasks with side effects are replaced by small fake tasks
behind the same names; the side effects themselves are tested in the integration tests."""

from pathlib import Path

import pytest
from prefect import task
from prefect.client.orchestration import get_client

import flows.generate as generate
import flows.gold as gold
import flows.ingest as ingest
import flows.pipeline as pipeline
import flows.stream as stream
import flows.supervisor as supervisor
from flows.ingest import entity_of, in_entity_order
from flows.reports import publish_gold_report

GOLD = {
    "build_id": "b1",
    "path": "/gold/b1",
    "seconds": 1.0,
    "rows": {"dim_customers": 3},
    "headline": {
        "revenue": "12.50",
        "orders": 2,
        "units": 3,
        "customers_per_segment": {"One-time": 2},
        "revenue_per_day": {"2026-01-01": "12.50"},
    },
}


@pytest.mark.parametrize(
    ("name", "entity"),
    [
        ("batch-7-customers.csv", "customers"),
        ("x-purchases.csv", "purchases"),
        ("clickstream.csv", "clickstream"),
        ("batch-orders.csv", None),
        ("customers-old.csv", None),
    ],
)
def test_the_entity_comes_from_the_file_name(name, entity):
    assert entity_of(Path(name)) == entity


def test_files_go_customers_first():
    files = [Path("a-clickstream.csv"), Path("a-purchases.csv"), Path("notes.csv"), Path("a-customers.csv")]

    assert [e for _, e in in_entity_order(files)] == ["customers", "purchases", "clickstream"]


def test_pipeline_runs_every_step_in_order(monkeypatch, tmp_path):
    calls = []

    def fake(name, result):
        @task(name=name)
        def step(*args, **options):  # options: rate, live (defaults here)
            calls.append((name, args[1:] if args and hasattr(args[0], "lake_path") else args))
            return result

        return step

    files = [str(tmp_path / f"batch-{e}.csv") for e in ("clickstream", "purchases", "customers")]
    monkeypatch.setattr(generate, "produce_events", fake("produce_events", {"acked": 100, "rate": 1}))
    monkeypatch.setattr(generate, "write_csv_batch", fake("write_csv_batch", files))
    monkeypatch.setattr(
        stream, "catch_up_stream", fake("catch_up_stream", {"mode": "catch-up", "rows": 100, "batches": 1})
    )
    monkeypatch.setattr(ingest, "ingest_csv_file", fake("ingest_csv_file", {}))
    for module in (stream, ingest):
        monkeypatch.setattr(module, "publish_quality_report", fake("publish_quality_report", None))
    monkeypatch.setattr(gold, "publish_gold_build", fake("publish_gold_build", GOLD))
    monkeypatch.setattr(gold, "publish_gold_report", fake("publish_gold_report", None))
    for module in (stream, gold):
        monkeypatch.setattr(module, "publish_freshness_report", fake("publish_freshness_report", None))

    result = pipeline.retail_pipeline(count=100, csv_count=30, seed=9)

    assert [name for name, _ in calls] == [
        "produce_events",
        "write_csv_batch",
        "catch_up_stream",
        "publish_quality_report",
        "publish_freshness_report",
        "ingest_csv_file",
        "ingest_csv_file",
        "ingest_csv_file",
        "publish_quality_report",
        "publish_gold_build",
        "publish_gold_report",
        "publish_freshness_report",
    ]
    assert calls[0][1] == (100, 9, 0.05, 7)
    assert [args[1] for name, args in calls if name == "ingest_csv_file"] == ["customers", "purchases", "clickstream"]
    assert result["gold"]["build_id"] == "b1" and result["seed"] == 9


@pytest.mark.parametrize(
    ("lag", "since_commit", "since_waiting", "runs", "verdict", "restarted_with"),
    [
        (0, 900.0, None, {"r1": 3600.0}, "healthy", None),  # idle, nothing waiting
        (50, 10.0, 900.0, {"r1": 3600.0}, "healthy", None),  # busy and moving
        (50, 900.0, 30.0, {"r1": 3600.0}, "healthy", None),  # records came after a quiet spell
        (50, 900.0, 900.0, {"r1": 60.0}, "healthy", None),  # a new run starting on old records
        (50, 900.0, 900.0, {"r1": 3600.0, "r2": 3590.0}, "stuck", ["r1", "r2"]),  # records wait, no batch
        (0, 5.0, None, {}, "no live run", []),  # down
    ],
)
def test_supervisor_restarts_only_a_down_or_stuck_stream(
    monkeypatch, lag, since_commit, since_waiting, runs, verdict, restarted_with
):
    restarts = []

    @task
    def check_stream(settings):
        seconds = {"seconds_since_commit": since_commit, "seconds_waiting": since_waiting}
        return {"last_batch": 4, "lag": {"t": lag}, "total_lag": lag, **seconds}

    @task
    def live_runs(deployment):
        return runs

    @task
    def restart_stream(deployment, stuck_runs):
        restarts.append(stuck_runs)
        return "new-run"

    @task
    def failures_in_a_row(deployment):
        return {"failures": 0, "seconds_since_failure": None, "why": ""}

    monkeypatch.setattr(supervisor, "check_stream", check_stream)
    monkeypatch.setattr(supervisor, "live_runs", live_runs)
    monkeypatch.setattr(supervisor, "restart_stream", restart_stream)
    monkeypatch.setattr(supervisor, "failures_in_a_row", failures_in_a_row)

    result = supervisor.supervise_stream(stuck_after_s=300)

    assert result["verdict"] == verdict
    assert restarts == ([] if restarted_with is None else [restarted_with])


@pytest.mark.parametrize(
    ("failures", "ago_s", "restarts"),
    [
        (1, 5.0, True),  # one failure: back at once
        (2, 30.0, False),  # two in a row: a minute's wait
        (2, 61.0, True),
        (4, 200.0, False),  # four: four minutes
        (4, 241.0, True),
        (12, 1700.0, False),  # never more than half an hour
        (12, 1801.0, True),
    ],
)
def test_a_stream_that_keeps_failing_is_restarted_with_a_growing_wait_and_the_reason(
    monkeypatch, failures, ago_s, restarts
):
    restarted = []
    monkeypatch.setattr(
        supervisor,
        "check_stream",
        task(
            lambda settings: {
                "last_batch": 4,
                "lag": {},
                "total_lag": 0,
                "seconds_since_commit": 5.0,
                "seconds_waiting": None,
            }
        ),
    )
    monkeypatch.setattr(supervisor, "live_runs", task(lambda deployment: {}))
    monkeypatch.setattr(supervisor, "restart_stream", task(lambda deployment, stuck: restarted.append(1) or "new"))
    why = "Crashed: Flow run infrastructure exited with non-zero status code -9."
    failed = {"failures": failures, "seconds_since_failure": ago_s, "why": why}
    monkeypatch.setattr(supervisor, "failures_in_a_row", task(lambda deployment: failed))

    result = supervisor.supervise_stream(stuck_after_s=300)

    assert bool(restarted) == restarts
    assert result["last_failure"] == why
    assert result["action"].startswith("restarted" if restarts else "waiting")


def test_gold_report_is_an_artifact_with_the_figures():
    artifact_id = publish_gold_report(GOLD)

    with get_client(sync_client=True) as client:
        (artifact,) = [a for a in client.read_artifacts() if a.id == artifact_id]
    assert artifact.key == "gold-headline"
    assert "| One-time | 2 |" in artifact.data and "12.50" in artifact.data


@pytest.mark.parametrize(
    ("live_runs", "lag", "since_commit", "since_run_start", "since_waiting", "expected"),
    [
        (0, 0, 10.0, None, None, "no live run"),
        (0, 500, None, None, 900.0, "no live run"),
        (1, 0, 9999.0, 9999.0, None, "healthy"),  # idle: nothing waits, however old the last batch
        (1, 500, 10.0, 9999.0, 900.0, "healthy"),  # a backlog, but batches commit
        # Quiet for 15 minutes, then records for 2: the first batch after the quiet spell is slow, not stuck
        (1, 500, 1020.0, 9999.0, 120.0, "healthy"),
        (1, 500, 1020.0, 9999.0, 301.0, "stuck"),  # ... until they waited stuck_after_s with no commit
        # The run that replaced it starts Spark and reads a backlog older than stuck_after_s: its grace
        (1, 500, 1080.0, 60.0, 360.0, "healthy"),
        (1, 500, None, 60.0, 9999.0, "healthy"),  # the first run ever, on a backlog, within its grace
        (1, 500, 1380.0, 301.0, 660.0, "stuck"),  # a run past its grace that committed nothing
        (1, 500, None, 400.0, None, "stuck"),  # never committed, the waiting records unreadable, past the grace
        (1, 500, None, None, None, "stuck"),  # records wait and nothing says the stream moved
        (2, 1, 300.0, 300.0, 300.0, "healthy"),  # at the limit, not beyond it
    ],
)
def test_the_supervisors_verdict(live_runs, lag, since_commit, since_run_start, since_waiting, expected):
    judged = supervisor.verdict(
        live_runs,
        lag,
        stuck_after_s=300,
        since_commit=since_commit,
        since_run_start=since_run_start,
        since_waiting=since_waiting,
    )

    assert judged == expected


def test_failures_in_a_row_counts_the_latest_failed_or_crashed_runs_and_says_why():
    from prefect.states import Cancelled, Crashed, Failed

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("stream-forever")
        deployment = client.create_deployment(flow_id=flow_id, name="continuous-test")
        states = [Cancelled(), Failed(message="Kafka went away"), Crashed(message="exit code -9")]  # oldest first
        for state in states:
            run = client.create_flow_run_from_deployment(deployment)
            client.set_flow_run_state(run.id, state, force=True)

    failed = supervisor.failures_in_a_row.fn("stream-forever/continuous-test")

    assert failed["failures"] == 2  # the cancelled run before them ends the streak
    assert failed["why"] == "Crashed: exit code -9"
    assert 0 <= failed["seconds_since_failure"] < 600


def test_live_runs_says_how_long_ago_each_live_run_started():
    from datetime import UTC, datetime, timedelta

    from prefect.states import Completed, Running, Scheduled

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("stream-forever")
        deployment = client.create_deployment(flow_id=flow_id, name="live-test")
        due = Scheduled(scheduled_time=datetime.now(UTC) - timedelta(minutes=10))
        waiting, running, ended = (client.create_flow_run_from_deployment(deployment, state=due) for _ in range(3))
        client.set_flow_run_state(running.id, Running(), force=True)
        client.set_flow_run_state(ended.id, Completed(), force=True)

    runs = supervisor.live_runs.fn("stream-forever/live-test")

    assert set(runs) == {str(waiting.id), str(running.id)}
    assert 0 <= runs[str(running.id)] < 300  # from its start, not from when it was due
    assert 600 <= runs[str(waiting.id)] < 900  # not started: since it was due
