"""`retail pipeline` on the real stack shows each step while the run works, not only at the end, and a failing step
with its error as soon as it fails. The runs go to the session's own Prefect server and worker: the user's
deployments, schedules and stream slot stay as they are."""

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def run_env(isolated, own_prefect, tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "RETAIL_PREFECT_API_URL": own_prefect.settings.endpoints().prefect_api_url,
        "RETAIL_KAFKA_TOPIC_PREFIX": isolated.kafka_topic_prefix,
        "RETAIL_LAKE_PATH": isolated.lake_path,
        "RETAIL_CASSANDRA_KEYSPACE": isolated.cassandra_keyspace,
        "RETAIL_GOLD_PATH": str(tmp_path / "gold"),
        "RETAIL_INBOX_PATH": str(tmp_path / "inbox"),
        "RETAIL_LEDGER_PATH": str(tmp_path / "ledgers"),
    }


def watch(env: dict[str, str], *args: str, deadline_s: float, on_line=lambda line: None) -> tuple[int, list[str]]:
    """Runs `retail pipeline` and hands each output line to ``on_line`` as it comes; returns the exit code and the
    lines. Fails the test when the command has not ended after ``deadline_s``."""
    command = [str(Path(sys.executable).parent / "retail"), "pipeline", *args]
    lines = []
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        watchdog = threading.Timer(deadline_s, proc.kill)
        watchdog.start()
        try:
            for line in proc.stdout:
                lines.append(line.rstrip())
                on_line(line)
            code = proc.wait(timeout=deadline_s)  # its output ended: it is exiting
        finally:
            watchdog.cancel()
    assert code != -signal.SIGKILL, f"`retail pipeline` still ran after {deadline_s} s:\n" + "\n".join(lines[-40:])
    return code, lines


def test_each_step_is_shown_while_the_run_works(run_env, deadline):
    api = run_env["RETAIL_PREFECT_API_URL"]
    seen: dict[str, bool] = {}  # step line -> was the pipeline run still running when the line came
    run_id: list[UUID] = []

    def on_line(line: str) -> None:
        if match := re.search(r"flow-run/([0-9a-f-]{36})", line):
            run_id.append(UUID(match.group(1)))
        if step := re.search(r"[▶✓] (\S+)", line):
            with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
                seen[step.group(0)] = client.read_flow_run(run_id[0]).state.is_running()

    code, lines = watch(run_env, "--count", "1500", "--csv-count", "0", deadline_s=deadline(1200), on_line=on_line)

    assert code == 0, "\n".join(lines[-40:])
    assert list(seen)[:4] == ["▶ generate-events", "✓ generate-events", "▶ stream-catch-up", "✓ stream-catch-up"]
    assert {"▶ build-gold", "✓ build-gold"} <= set(seen)
    assert seen["✓ generate-events"] and seen["✓ stream-catch-up"], seen  # shown while the run was still going
    assert any("generate-events: seed" in line and "events to Kafka" in line for line in lines)  # the flow's counts


def test_a_failing_step_is_shown_with_its_error_before_the_run_ends(run_env, deadline):
    code, lines = watch(run_env, "--count", "100", "--csv-count", "0", "--bad-fraction", "2", deadline_s=deadline(1200))

    assert code == 1
    failure = next(line for line in lines if "✗ generate-events failed" in line)
    assert "bad_fraction must be in [0, 1)" in failure
    ended = next(line for line in lines if "ended failed" in line)
    assert lines.index(failure) < lines.index(ended)
