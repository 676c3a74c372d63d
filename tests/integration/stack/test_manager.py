"""The native stack itself: status, idempotent up and the memory budget."""

import os

import pytest

from retail.stack import Stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("RETAIL_TEST_STACK", "auto") not in ("auto", "native"),
        reason="inspects the native local stack's processes; another provider runs the services",
    ),
]


def test_every_service_is_healthy_with_a_pid_and_memory(stack_settings):
    rows = Stack(stack_settings).status()

    assert [r.name for r in rows if not (r.healthy and r.pid and r.rss_bytes > 0)] == []


def test_up_again_starts_nothing(stack_settings):
    assert Stack(stack_settings).up(report=lambda _: None) == []


def test_whole_stack_stays_within_its_memory_budget(stack_settings):
    total_gib = sum(r.rss_bytes for r in Stack(stack_settings).status()) / 2**30

    assert total_gib < 8.0
