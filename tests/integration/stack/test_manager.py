"""The native stack itself: status, idempotent up and the memory budget."""

import os

import psutil
import pytest

from retail.stack import Stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("RETAIL_TEST_STACK", "auto") not in ("auto", "native"),
        reason="inspects the native local stack's processes; another provider runs the services",
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
