"""How the Kafka stream stands, read from its checkpoint on HDFS (through WebHDFS) and from Kafka: the last
committed micro-batch, when it was committed, and the consumer lag per topic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlparse

from retail.settings import Settings

CHECKPOINT = ("_checkpoints", "bronze_kafka")


@dataclass(frozen=True)
class StreamStatus:
    """The last committed batch (None before the first), its commit time, and records in Kafka not yet read."""

    last_batch: int | None
    last_commit: datetime | None
    lag: dict[str, int]

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    def seconds_since_commit(self, now: datetime | None = None) -> float | None:
        if self.last_commit is None:
            return None
        return ((now or datetime.now(UTC)) - self.last_commit).total_seconds()


def stream_status(settings: Settings) -> StreamStatus:
    """Returns the stream's status; raises RuntimeError when HDFS or Kafka does not answer."""
    import fsspec
    from confluent_kafka import Consumer, TopicPartition

    from retail.contracts import CONTRACTS
    from retail.stack import health

    webhdfs = settings.endpoints().webhdfs_url
    if not health.namenode(webhdfs):
        raise RuntimeError(f"WebHDFS at {webhdfs} does not answer: is HDFS up? (`retail stack status`)")
    url = urlparse(webhdfs)
    fs = fsspec.filesystem("webhdfs", host=url.hostname, port=url.port, user="retail")
    root = "/".join([settings.lake_path.rstrip("/"), *CHECKPOINT])
    commits = [c for c in fs.ls(f"{root}/commits", detail=True) if c["name"].rsplit("/", 1)[-1].isdigit()] if fs.exists(
        f"{root}/commits") else []  # fmt: skip
    committed: dict[str, dict[str, int]] = {}
    last_batch = last_commit = None
    if commits:
        newest = max(commits, key=lambda c: int(c["name"].rsplit("/", 1)[-1]))
        last_batch = int(newest["name"].rsplit("/", 1)[-1])
        last_commit = datetime.fromtimestamp(newest["modificationTime"] / 1000, UTC)
        # An offsets file: a version line, the batch's metadata, then the end offsets of its sources.
        with fs.open(f"{root}/offsets/{last_batch}", "rb") as f:
            committed = json.loads(f.read().decode().splitlines()[2])
    topics = [settings.kafka_topic_prefix + c.topic for c in CONTRACTS.values()]
    consumer = Consumer({"bootstrap.servers": settings.endpoints().kafka_bootstrap_servers,
                         "group.id": "retail-stream-status", "enable.auto.commit": False})  # fmt: skip
    try:
        lag = {}
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
            partitions = list(metadata.partitions) if metadata and not metadata.error else []
            behind = 0
            for p in partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                behind += max(high - int(committed.get(topic, {}).get(str(p), 0)), 0)
            lag[topic] = behind
    finally:
        consumer.close()
    return StreamStatus(last_batch, last_commit, lag)
