"""How the streaming queries stand, read from their checkpoints on HDFS (through WebHDFS) and from Kafka: the last
committed micro-batch, when it was committed, the events/s between the last two commits, the consumer lag per topic
and, when asked, since when records have been waiting; and the serving query's freshness (produce -> Cassandra) as
its batches recorded it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from retail.connections import kafka_consumer, webhdfs
from retail.lake import SERVING_QUERY, STREAM_QUERY, LakeLayout
from retail.settings import Settings


@dataclass(frozen=True)
class StreamStatus:
    """The last committed batch (None before the first), its commit time, and records in Kafka not yet read."""

    last_batch: int | None
    last_commit: datetime | None
    lag: dict[str, int]
    events_per_s: float | None = None  # records between the last two commits over the time between them
    # When the oldest record not yet read was produced: None when nothing waits, it was not asked for, or it could
    # not be read
    waiting_since: datetime | None = None

    @property
    def total_lag(self) -> int:
        """Records in the topics the query has not read."""
        return sum(self.lag.values())

    def seconds_since_commit(self, now: datetime | None = None) -> float | None:
        """Returns the seconds since the last commit (None before the first)."""
        if self.last_commit is None:
            return None
        return ((now or datetime.now(UTC)) - self.last_commit).total_seconds()


def stream_status(settings: Settings, query: str = STREAM_QUERY, waiting_since: bool = False) -> StreamStatus:
    """Returns the status of the streaming query ``query`` (default: the bronze + silver stream), with
    ``waiting_since`` read from the first unread record of each partition that lags when asked; raises RuntimeError
    when HDFS or Kafka does not answer."""
    from confluent_kafka import TopicPartition

    from retail.contracts import CONTRACTS

    fs = webhdfs(settings)
    root = LakeLayout(settings.lake_path).checkpoint(query)  # the path WebHDFS takes
    commits = (
        [c for c in fs.ls(f"{root}/commits", detail=True) if c["name"].rsplit("/", 1)[-1].isdigit()]
        if fs.exists(f"{root}/commits")
        else []
    )
    committed: dict[str, dict[str, int]] = {}
    last_batch = last_commit = rate = None
    if commits:
        newest, *older = sorted(commits, key=lambda c: -int(c["name"].rsplit("/", 1)[-1]))
        last_batch = int(newest["name"].rsplit("/", 1)[-1])
        last_commit = datetime.fromtimestamp(newest["modificationTime"] / 1000, UTC)
        committed = _offsets(fs, root, last_batch)
        if older:
            previous = older[0]
            seconds = (newest["modificationTime"] - previous["modificationTime"]) / 1000
            before = _offsets(fs, root, int(previous["name"].rsplit("/", 1)[-1]))
            rate = (_total(committed) - _total(before)) / seconds if seconds > 0 else None
    topics = [settings.kafka_topic_prefix + c.topic for c in CONTRACTS.values()]
    # earliest: a first unread record that retention already deleted reads as the oldest one left
    consumer = kafka_consumer(settings, "retail-stream-status", {"auto.offset.reset": "earliest"})
    try:
        lag, unread = {}, []
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
            partitions = list(metadata.partitions) if metadata and not metadata.error else []
            behind = 0
            for p in partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                offset = int(committed.get(topic, {}).get(str(p), 0))
                behind += max(high - offset, 0)
                if high > offset:
                    unread.append(TopicPartition(topic, p, offset))
            lag[topic] = behind
        since = _produced_at_first(consumer, unread) if waiting_since and unread else None
    finally:
        consumer.close()
    return StreamStatus(last_batch, last_commit, lag, rate, since)


def _produced_at_first(consumer, unread: list, timeout_s: float = 10.0) -> datetime | None:
    """Returns when the oldest of the records at ``unread``'s offsets was produced, over the partitions that answer
    within ``timeout_s`` (None when none does)."""
    from confluent_kafka import TIMESTAMP_NOT_AVAILABLE

    consumer.assign(unread)
    first: dict[tuple[str, int], int] = {}  # (topic, partition) -> ms; a partition's messages come in offset order
    deadline = time.monotonic() + timeout_s
    while len(first) < len(unread) and (left := deadline - time.monotonic()) > 0:
        for msg in consumer.consume(len(unread), timeout=left):
            kind, ms = msg.timestamp()
            if msg.error() is None and kind != TIMESTAMP_NOT_AVAILABLE:
                first.setdefault((msg.topic(), msg.partition()), ms)
    return datetime.fromtimestamp(min(first.values()) / 1000, UTC) if first else None


def _offsets(fs, root: str, batch: int) -> dict[str, dict[str, int]]:
    # An offsets file: a version line, the batch's metadata, then the end offsets of each source (one per line).
    with fs.open(f"{root}/offsets/{batch}", "rb") as f:
        lines = f.read().decode().splitlines()[2:]
    merged: dict[str, dict[str, int]] = {}
    for line in lines:
        if line.strip() and line.strip() != "-":
            merged.update(json.loads(line))
    return merged


def _total(offsets: dict[str, dict[str, int]]) -> int:
    return sum(int(o) for partitions in offsets.values() for o in partitions.values())


@dataclass(frozen=True)
class Freshness:
    """Produce -> readable in Cassandra over the serving query's newest batches (seconds), and their rows."""

    batches: int
    rows: int
    p50_s: float
    p95_s: float
    newest: datetime


def serving_freshness(settings: Settings, batches: int = 20, within_s: float = 300) -> Freshness | None:
    """Returns the freshness the serving query recorded over its newest ``batches`` written in the last
    ``within_s`` seconds (None when there are none: it has not written lately)."""
    from cassandra import InvalidRequest

    from retail.cassandra import SERVING_PROGRESS
    from retail.cassandra.client import CassandraTarget

    cluster = CassandraTarget.from_settings(settings).connect()
    try:
        session = cluster.connect()
        rows = session.execute(
            f"SELECT rows, p50_s, p95_s, written_at FROM {settings.cassandra_keyspace}.{SERVING_PROGRESS.name}"
            " WHERE query = %s LIMIT %s",
            (SERVING_QUERY, batches),
        ).all()
    except InvalidRequest:  # no keyspace or table yet: the serving query never ran
        return None
    finally:
        cluster.shutdown()
    since = datetime.now(UTC).replace(tzinfo=None).timestamp() - within_s
    rows = [r for r in rows if r.written_at.timestamp() >= since]  # both naive UTC
    if not rows:
        return None
    total = sum(r.rows for r in rows)
    # Row-weighted means of the batches' quantiles: close to the quantiles over all their rows when batches agree.
    p50 = sum(r.p50_s * r.rows for r in rows) / total
    p95 = sum(r.p95_s * r.rows for r in rows) / total
    newest = max(r.written_at for r in rows).replace(tzinfo=UTC)
    return Freshness(len(rows), total, p50, p95, newest)


def live_line(settings: Settings) -> str:
    """Returns one line on the live pair: when the fresh path last wrote and its produce -> Cassandra latency (or,
    when it wrote nothing lately, its last committed batch), and the bronze + silver stream's last batch and lag
    (whichever runs it: the live pair or a catch-up)."""
    serving, silver = stream_status(settings, SERVING_QUERY), stream_status(settings)
    if serving.last_batch is None and silver.last_batch is None:
        return "stream: no batch committed yet (the first one holds everything waiting in Kafka)"
    parts = []
    fresh = serving_freshness(settings)
    if fresh is not None:  # what the fresh path's writer records as it writes (a real-time batch commits rarely)
        age = (datetime.now(UTC) - fresh.newest).total_seconds()
        parts.append(
            f"fresh path wrote {age:.0f} s ago, produce → Cassandra p50 {fresh.p50_s:.1f} s / p95 {fresh.p95_s:.1f} s"
        )
    elif serving.last_batch is not None:
        since = serving.seconds_since_commit()
        parts.append(f"serving batch {serving.last_batch} {since:.0f} s ago (nothing written lately)")
    if silver.last_batch is not None:
        rate = "" if silver.events_per_s is None else f", {silver.events_per_s:,.0f} events/s"
        parts.append(
            f"silver batch {silver.last_batch} {silver.seconds_since_commit():.0f} s ago{rate}, "
            f"lag {silver.total_lag:,}"
        )
    return "stream: " + "; ".join(parts)
