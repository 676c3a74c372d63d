"""Writes to the serving tables, run by Spark executors: prepared, idempotent statements grouped into unlogged
batches per partition key and executed concurrently on the process's one session.

Two queries write the same tables: the serving query (every record that passes the row rules, as soon as it is read) and
the exactly-once silver path (corrections only it can know, or every silver row when no serving query runs). They
agree through write timestamps. Every serving table holds one event per primary key, and the first occurrence of an
event is the one silver keeps, so a row is written at a timestamp that *falls* as its clock rises: the earlier a
record came, the higher its timestamp, and Cassandra's highest-timestamp-wins makes the first occurrence win whoever
writes last and however often (a replay rewrites the same cells). The timestamps count down from a fixed moment in
the past, ``ANCHOR_US`` (2026-01-01), four microseconds per clock step, and end above ``OLDEST_US`` (2021-07): every
write is before the moment it is made, so an operator's plain CQL ``DELETE`` or ``UPDATE`` (timestamped now) wins
over anything the platform wrote or will replay (a delete for as long as its tombstone lives, ``gc_grace_seconds``),
and Cassandra's ``maximum_timestamp`` guardrail passes every write. Relative to a row's timestamp ``t``:

- ``SERVING`` writes at ``t``; ``SILVER`` at ``t - 1``, so it never overwrites the serving query's write (nor its
  ``written_at``) of the same row;
- ``DELETE`` at ``t + 1``: a record that passed the row rules but that silver quarantined (a conflicting duplicate,
  a purchase waiting for its customer) is removed, while an earlier original with the same key, written at a higher
  timestamp, stays;
- ``RELEASE`` at ``t + 2``: a purchase released from waiting comes back over its own delete.

The clock (column ``clock``, made by ``spark.silver.transforms.serving_columns``) is a Kafka record's offset: every
record of one key lands in one partition (producers key by customer, and every serving table's partition key
belongs to one customer), where the offset orders arrivals exactly, even within a millisecond. Offsets stay below
``KAFKA_OFFSETS`` (2^40, a trillion records per partition: 51 days of timestamps). A CSV row, which only the silver
path writes, is clocked after every Kafka record: from ``KAFKA_OFFSETS`` on, its file's ingestion second since the
anchor, then its line. Clocks stay below ``CLOCKS`` (2^45) for CSV files landed until 2042, when the anchor has to
move (and the serving tables be rebuilt from silver: rows written under two anchors do not compare).

Why not the event time, or ``IF NOT EXISTS``: a timestamp that grows with time makes the latest write win, never the
first (and a producer's clock may run ahead of ours); a lightweight transaction costs a Paxos round per row, cannot
be batched across partitions, and after an operator's delete lets a replay insert the row again.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from retail.cassandra.client import CassandraTarget, session_for
from retail.cassandra.tables import PRODUCED_AT, TABLES_OF_ENTITY, Table

ANCHOR_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z: no write timestamp is later
KAFKA_OFFSETS = 1 << 40  # every Kafka offset is below it, where CSV clocks begin
CLOCKS = 1 << 45  # every clock is below it
OLDEST_US = ANCHOR_US - CLOCKS * 4  # every write timestamp is later (2021-07-17)
CLOCK = "clock"  # the column of a written row that orders it among the records of its key


class Write(IntEnum):
    """How a row reaches a serving table: the offset of its write timestamp from the timestamp its clock gives."""

    SILVER = -1
    SERVING = 0
    DELETE = 1
    RELEASE = 2


def write_timestamp(clock, write: Write):
    """Returns the write timestamp of a row at ``clock`` (see the module docstring); ``clock`` is an int, or a Spark
    column, of which the same arithmetic makes the timestamp's column (the fresh path's, ``spark.silver.serving``)."""
    return ANCHOR_US - clock * 4 + (write - Write.RELEASE)


_PREPARED: dict[tuple, object] = {}


def _statement(session, target: CassandraTarget, table: Table, write: Write):
    key = (target, table.name, write is Write.DELETE)
    if key not in _PREPARED:
        cql = table.delete(target.keyspace) if write is Write.DELETE else table.insert(target.keyspace, True)
        statement = session.prepare(cql)
        statement.is_idempotent = True
        _PREPARED[key] = statement
    return _PREPARED[key]


def write_events(rows: Iterable, target: CassandraTarget, batch_size: int = 40, concurrency: int = 16) -> int:
    """Writes (or, for ``Write.DELETE``, removes) rows of any entity (column ``entity``) in every serving table of
    their entity, each as its column ``write`` says; returns how many rows. Rows carry the tables' columns
    (``produced_at`` as ``produced_ms``) and ``clock``. Statements are grouped per partition key into unlogged
    batches (one mutation on one replica set each): ~10x the rows/s of one statement per row."""
    from cassandra.query import BatchStatement, BatchType

    session = session_for(target)
    groups: dict[tuple, list] = {}
    written = 0
    for row in rows:
        write = Write(row["write"])
        timestamp = write_timestamp(row[CLOCK], write)
        for table in TABLES_OF_ENTITY[row["entity"]]:
            if write is Write.DELETE:
                values = (timestamp, *(row[k] for k in table.primary_key))
            else:
                values = (*(_value(row, n) for n in table.bound_columns), timestamp)
            group = (table.name, *(row[k] for k in table.partition_key))
            groups.setdefault(group, []).append((table, write, values))
        written += 1
    batches = []
    for group in groups.values():
        for start in range(0, len(group), batch_size):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            batch.is_idempotent = True
            for table, write, values in group[start : start + batch_size]:
                batch.add(_statement(session, target, table, write), values)
            batches.append(batch)
    run_concurrently(session, batches, concurrency)
    return written


def _value(row, name: str):
    if name == PRODUCED_AT:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(row["produced_ms"] / 1000, UTC)
    return row[name]


def run_concurrently(session, statements: list, concurrency: int = 16) -> None:
    """Executes statements concurrently; raises the first error."""
    from cassandra.concurrent import execute_concurrent

    results = execute_concurrent(
        session, [(s, ()) for s in statements], concurrency=concurrency, raise_on_first_error=True
    )
    for ok, result in results:
        if not ok:
            raise result
