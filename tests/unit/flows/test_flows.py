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
        def step(*args):
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
    ("status", "runs", "verdict", "restarted_with"),
    [
        ({"total_lag": 0, "seconds_since_commit": 900.0}, ["r1"], "healthy", None),  # idle, nothing waiting
        ({"total_lag": 50, "seconds_since_commit": 10.0}, ["r1"], "healthy", None),  # busy and moving
        ({"total_lag": 50, "seconds_since_commit": 900.0}, ["r1"], "stuck", ["r1"]),  # records wait, no batch
        ({"total_lag": 0, "seconds_since_commit": 5.0}, [], "no live run", []),  # down
    ],
)
def test_supervisor_restarts_only_a_down_or_stuck_stream(monkeypatch, status, runs, verdict, restarted_with):
    restarts = []

    @task
    def check_stream(settings):
        return {"last_batch": 4, "lag": {"t": status["total_lag"]}, **status}

    @task
    def live_runs(deployment):
        return runs

    @task
    def restart_stream(deployment, stuck_runs):
        restarts.append(stuck_runs)
        return "new-run"

    monkeypatch.setattr(supervisor, "check_stream", check_stream)
    monkeypatch.setattr(supervisor, "live_runs", live_runs)
    monkeypatch.setattr(supervisor, "restart_stream", restart_stream)

    result = supervisor.supervise_stream(stuck_after_s=300)

    assert result["verdict"] == verdict
    assert restarts == ([] if restarted_with is None else [restarted_with])


def test_gold_report_is_an_artifact_with_the_figures():
    artifact_id = publish_gold_report(GOLD)

    with get_client(sync_client=True) as client:
        (artifact,) = [a for a in client.read_artifacts() if a.id == artifact_id]
    assert artifact.key == "gold-headline"
    assert "| One-time | 2 |" in artifact.data and "12.50" in artifact.data


@pytest.mark.parametrize(
    ("live_runs", "lag", "since", "expected"),
    [
        (0, 0, 10.0, "no live run"),
        (0, 500, None, "no live run"),
        (1, 0, 9999.0, "healthy"),  # idle: nothing waits, however old the last batch
        (1, 500, 10.0, "healthy"),
        (1, 500, 301.0, "stuck"),
        (1, 500, None, "stuck"),  # records wait and no batch was ever committed
        (2, 1, 300.0, "healthy"),  # at the limit, not beyond it
    ],
)
def test_the_supervisors_verdict(live_runs, lag, since, expected):
    assert supervisor.verdict(live_runs, lag, since, stuck_after_s=300) == expected
