"""Kafka for the event sources: entity topics created with the AdminClient, and an idempotent producer that records
every record's fate (partition and offset, or the error) in a ledger."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewTopic

from retail.connections import kafka_admin, kafka_producer
from retail.contracts import CONTRACTS
from retail.generator import Record
from retail.settings import Settings

# Big enough for the generator's oversized values; the topics are created with the same limit.
MAX_MESSAGE_BYTES = 2 * 1024 * 1024


def ensure_topics(settings: Settings) -> list[str]:
    """Creates the entity topics that do not exist yet (partitions, replication and retention from settings);
    returns the names it created."""
    admin = kafka_admin(settings)
    existing = set(admin.list_topics(timeout=15).topics)
    config = {"retention.ms": str(settings.kafka_retention_ms), "max.message.bytes": str(MAX_MESSAGE_BYTES)}
    names = [settings.kafka_topic_prefix + c.topic for c in CONTRACTS.values()]
    wanted = [
        NewTopic(
            name, num_partitions=settings.kafka_partitions, replication_factor=settings.kafka_replication, config=config
        )
        for name in names
        if name not in existing
    ]
    for future in (admin.create_topics(wanted) if wanted else {}).values():
        try:
            future.result(timeout=30)
        except KafkaException as err:
            if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return [t.topic for t in wanted]


@dataclass
class LedgerEntry:
    """What happened to one generated record."""

    seq: int
    entity: str
    event_id: str
    kind: str
    topic: str
    status: str = "pending"
    partition: int | None = None
    offset: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class ProduceReport:
    """What one producer run did: records produced, acknowledged and failed, and how long it took."""

    produced: int
    acked: int
    failed: int
    seconds: float
    ledger: Path

    @property
    def rate(self) -> float:
        """Returns the acknowledged records per second."""
        return self.produced / self.seconds if self.seconds else 0.0


def write_ledger(entries: Iterable[LedgerEntry], path: Path) -> Path:
    """Writes the ledger as JSON lines, one entry per generated record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for entry in entries:
            out.write(json.dumps(asdict(entry)) + "\n")
    return path


def read_ledger(path: Path) -> list[LedgerEntry]:
    """Returns the entries of a producer ledger file."""
    with path.open() as f:
        return [LedgerEntry(**json.loads(line)) for line in f]


def produce(
    records: Iterable[Record],
    settings: Settings,
    ledger_path: Path,
    *,
    rate: float | None = None,
    duration_s: float | None = None,
    progress: Callable[[int, int], None] = lambda produced, acked: None,
) -> ProduceReport:
    """Sends ``records`` (stop them with islice, or give ``duration_s``) at up to ``rate`` records/s with an
    idempotent, acks=all producer; returns the counts and writes the ledger. Delivery failures are counted and kept in
    the ledger, never dropped."""
    producer = kafka_producer(
        settings,
        {
            "linger.ms": 20,
            "batch.size": 512 * 1024,
            "compression.type": "lz4",
            "message.max.bytes": MAX_MESSAGE_BYTES,
            "delivery.timeout.ms": 120_000,
        },
    )
    entries: list[LedgerEntry] = []
    acked = 0

    def delivered(entry: LedgerEntry, err: KafkaError | None, msg) -> None:
        nonlocal acked
        if err is None:
            entry.status, entry.partition, entry.offset = "acked", msg.partition(), msg.offset()
            acked += 1
        else:
            entry.status, entry.error = "failed", str(err)

    began = time.monotonic()
    for seq, record in enumerate(records):
        elapsed = time.monotonic() - began
        if duration_s is not None and elapsed >= duration_s:
            break
        if rate and seq > rate * elapsed:
            time.sleep(min(seq / rate - elapsed, 1.0))
        topic = settings.kafka_topic_prefix + CONTRACTS[record.entity].topic
        entry = LedgerEntry(seq, record.entity, record.event_id, record.kind, topic)
        entries.append(entry)
        while True:
            try:
                producer.produce(
                    topic,
                    value=record.value,
                    key=record.key,
                    on_delivery=lambda err, msg, e=entry: delivered(e, err, msg),
                )
                break
            except BufferError:  # local queue full: let deliveries drain, then retry the same record
                producer.poll(0.2)
        producer.poll(0)
        if seq % 5000 == 0:
            progress(seq, acked)
    remaining = producer.flush(120)
    for entry in entries:
        if entry.status == "pending":
            entry.status, entry.error = "failed", f"not acknowledged within the flush timeout ({remaining} left)"
    seconds = time.monotonic() - began
    progress(len(entries), acked)
    failed = sum(e.status == "failed" for e in entries)
    return ProduceReport(len(entries), acked, failed, seconds, write_ledger(entries, ledger_path))
