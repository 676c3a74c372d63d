"""The deployments on the real stack: deployed non-interactively (to the session's own Prefect server, so the
user's deployments and schedules stay as they are), the end-to-end deployment is triggered with `prefect deployment
run`, a worker of the stack's definition runs it, and gold and the run's artifacts exist with real content."""

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
)
from prefect.settings import PREFECT_API_URL, temporary_settings

from retail.generator import GeneratorConfig, generate
from retail.gold import current, headline
from retail.kafka import read_ledger

pytestmark = pytest.mark.integration


def test_pipeline_deployment_run_completes_and_leaves_gold_and_artifacts(isolated, own_prefect, deadline, tmp_path):
    api = own_prefect.settings.endpoints().prefect_api_url
    settings = isolated.model_copy(
        update={
            "gold_path": tmp_path / "gold",
            "inbox_path": tmp_path / "inbox",
            "ledger_path": tmp_path / "ledgers",
            "prefect_api_url": api,
        }
    )
    watch_s = round(deadline(1200))
    # The run gets this test's own topics, lake, keyspace, folders and Prefect through the process job's environment.
    env = {
        "RETAIL_PREFECT_API_URL": api,
        "RETAIL_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "RETAIL_LAKE_PATH": settings.lake_path,
        "RETAIL_CASSANDRA_KEYSPACE": settings.cassandra_keyspace,
        "RETAIL_GOLD_PATH": str(settings.gold_path),
        "RETAIL_INBOX_PATH": str(settings.inbox_path),
        "RETAIL_LEDGER_PATH": str(settings.ledger_path),
    }
    command = [
        str(Path(sys.executable).parent / "prefect"),
        "deployment",
        "run",
        "retail-pipeline/daily",
        "--param",
        "count=3000",
        "--param",
        "csv_count=900",
        "--param",
        "seed=77",
        "--param",
        "producers=2",
        "--job-variable",
        f"env={json.dumps(env)}",
        "--watch",
        "--watch-timeout",
        str(watch_s),
    ]

    done = subprocess.run(
        command,
        env={**os.environ, "PREFECT_API_URL": api},
        capture_output=True,
        text=True,
        timeout=watch_s + deadline(100),
    )

    assert done.returncode == 0 and "Completed" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    figures = headline(current(settings) / "warehouse.duckdb")
    assert figures["orders"] > 0 and figures["revenue"] > 0
    assert sorted(p.name for p in (settings.inbox_path).glob("*.csv")) == []  # all three files were ingested
    ledgers = sorted(settings.ledger_path.glob("*.jsonl"))  # two generator shards, each its own producer
    assert [p.name.split("-")[2] for p in ledgers] == ["shard0of2", "shard1of2"]
    assert sum(len(p.read_text().splitlines()) for p in ledgers) == 3000
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", done.stdout).group(1)
    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        steps = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id]))
        )
        names = {client.read_flow(r.flow_id).name for r in steps}
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id, *(r.id for r in steps)]))
        )
    assert names == {"generate-events", "stream-catch-up", "ingest-batch", "build-gold"}  # the steps are subflows
    by_key = {a.key: a for a in sorted(artifacts, key=lambda a: a.created)}  # the newest of each
    assert {"data-quality", "gold-headline", "freshness"} <= set(by_key)
    quality = {row["entity"]: row for row in json.loads(by_key["data-quality"].data)}
    assert all(quality[e]["bronze_in"] > 0 and quality[e]["silver"] > 0 for e in ("customers", "purchases"))
    assert any(row["quarantine_by_rule"] for row in quality.values())  # 5 % bad records: some rule broke
    # The Kafka run (seed 77) and the CSV batch (seed 78) are two datasets: the only conflicts are the ones the
    # generator made on purpose, none from two runs sharing ids.
    made = [e.kind for p in ledgers for e in read_ledger(p)]
    made += [r.kind for r in itertools.islice(generate(GeneratorConfig(seed=78, bad_fraction=0.05)), 900)]
    conflicts = [
        int(n)
        for row in quality.values()
        for rule, n in re.findall(r"([\w:]+) (\d+)", row["quarantine_by_rule"])
        if rule == "conflicting_duplicate"
    ]
    assert sum(conflicts) == made.count("conflicting_duplicate"), quality
    assert str(figures["revenue"]) in by_key["gold-headline"].data
    assert {row["table"] for row in json.loads(by_key["freshness"].data)} >= {"silver.purchases", "gold.fct_purchases"}
