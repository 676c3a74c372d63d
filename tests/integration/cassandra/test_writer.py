"""An operator fixes the serving tables with plain CQL, and no write of the platform, first or replayed, undoes it."""

import time
from datetime import UTC, datetime

import pytest

from retail.cassandra import CUSTOMER_BY_ID, CassandraTarget, Write, ensure_schema, session_for, write_events
from retail.cassandra.writer import OLDEST_US

pytestmark = pytest.mark.integration


def customer(write: Write, clock: int = 0) -> dict:
    """A customer row as the writer takes it; clock 0 gives the highest timestamp the platform ever writes."""
    return {
        "entity": "customers",
        "write": int(write),
        "clock": clock,
        "event_id": "e-1",
        "customer_id": "C-1",
        "name": "Ada",
        "email": "ada@example.com",
        "country": "DE",
        "signup_date": datetime(2026, 2, 1, tzinfo=UTC),
        "email_domain": "example.com",
        "produced_ms": 1_780_000_000_000,
    }


@pytest.fixture
def target(isolated) -> CassandraTarget:
    target = CassandraTarget.from_settings(isolated)
    ensure_schema(target, isolated.cassandra_replication)
    return target


def stored(target: CassandraTarget):
    return (
        session_for(target)
        .execute(f"SELECT name, writetime(name) AS stamp FROM {CUSTOMER_BY_ID.name} WHERE customer_id = %s", ["C-1"])
        .one()
    )


def test_a_plain_delete_removes_a_row_the_platform_wrote_and_a_replay_leaves_it_deleted(target):
    write_events([customer(Write.RELEASE)], target)
    row = stored(target)
    assert row is not None and OLDEST_US < row.stamp <= time.time_ns() // 1000

    session_for(target).execute(f"DELETE FROM {CUSTOMER_BY_ID.name} WHERE customer_id = %s", ["C-1"])
    assert stored(target) is None

    write_events([customer(w) for w in Write], target)  # both paths replaying every write they ever make
    assert stored(target) is None


def test_a_plain_update_outranks_every_write_of_the_platform(target):
    write_events([customer(Write.SERVING)], target)

    session_for(target).execute(f"UPDATE {CUSTOMER_BY_ID.name} SET name = 'Ada L.' WHERE customer_id = %s", ["C-1"])
    write_events([customer(w) for w in Write if w is not Write.DELETE], target)

    assert stored(target).name == "Ada L."
