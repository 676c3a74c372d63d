"""The stack itself (processes or containers): status, idempotent up, the memory budget, loopback only, and a clean
start after a worker that was killed (the session's own Prefect worker, never the user's: its flow runs go on)."""

import os
import uuid

import psutil
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Cancelled, Pending

from retail.stack import Stack
from retail.stack.prefect_runs import AWAITING_SLOT

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("RETAIL_TEST_STACK", "auto") == "external",
        reason="inspects the stack's own processes; external services are not the stack's",
    ),
]

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def test_every_service_is_healthy_with_a_pid_and_memory(stack_settings):
    rows = Stack(stack_settings).status()

    assert [r.name for r in rows if not (r.healthy and r.pid and r.rss_bytes > 0)] == []


def test_up_again_starts_nothing(stack_settings):
    assert Stack(stack_settings).up(report=lambda _: None) == []


def test_whole_stack_stays_within_its_memory_budget(stack_settings):
    total_gib = sum(r.rss_bytes for r in Stack(stack_settings).status()) / 2**30

    assert total_gib < 8.0


def test_every_listening_socket_of_the_stack_and_the_spark_driver_is_on_loopback(stack_settings, spark):
    spark.range(10).count()  # the driver has run a job on the workers: its executors are up too
    roots = [psutil.Process(r.pid) for r in Stack(stack_settings).status() if r.pid]
    processes = {p.pid: p for root in [*roots, psutil.Process()] for p in [root, *root.children(recursive=True)]}
    listening = {
        (p.pid, " ".join(p.cmdline())[:80], conn.laddr.ip, conn.laddr.port)
        for p in processes.values()
        for conn in p.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    }

    assert {port for *_, port in listening} >= {4040, 9092, 9042, 9000, 7077, 4200}  # the driver UI among them
    assert [s for s in listening if s[2] not in LOOPBACK] == []


def test_a_worker_that_starts_cancels_the_runs_a_killed_worker_left_holding_their_slots(own_prefect, deadline):
    # The stack's own worker definition on a Prefect server of the session's own: the runs it cancels can only be
    # this test's, and the user's worker and its runs (a live stream among them) are never touched.
    stack, api = own_prefect, own_prefect.settings.endpoints().prefect_api_url
    worker = stack.process("prefect-worker")
    for proc in [*worker.children(recursive=True), worker]:  # as a session that ends takes it: no goodbye
        proc.kill()
    psutil.wait_procs([worker], timeout=deadline(30))
    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("orphan-check")
        deployment = client.create_deployment(
            flow_id, f"orphan-{uuid.uuid4().hex[:8]}", work_pool_name=stack.settings.work_pool, concurrency_limit=1
        )
        slot = f"deployment:{deployment}"
        try:
            # The worker's way to start a run: Pending takes the deployment's one slot, a second run queues for it.
            holder, queued = (client.create_flow_run_from_deployment(deployment) for _ in range(2))
            assert client.set_flow_run_state(holder.id, Pending()).status == SetStateStatus.ACCEPT
            client.set_flow_run_state(queued.id, Pending())
            assert client.read_flow_run(queued.id).state.name == AWAITING_SLOT
            assert client.read_global_concurrency_limit_by_name(slot).active_slots == 1

            said: list[str] = []
            # fetch=False: a fetch rebuilds the service list, the whole stack's instead of these two
            assert stack.up(report=said.append, fetch=False) == ["prefect-worker"]

            news = next(line for line in said if "cancelled" in line)
            assert news.startswith("prefect-worker: cancelled 2 flow run(s) a worker that was killed left behind: ")
            assert holder.name in news and queued.name in news
            assert [client.read_flow_run(r.id).state.type for r in (holder, queued)] == [StateType.CANCELLED] * 2
            assert client.read_global_concurrency_limit_by_name(slot).active_slots == 0
            latest = client.create_flow_run_from_deployment(deployment)
            assert client.set_flow_run_state(latest.id, Pending()).status == SetStateStatus.ACCEPT  # the slot is free
            client.set_flow_run_state(latest.id, Cancelled(), force=True)
        finally:
            client.delete_deployment(deployment)
