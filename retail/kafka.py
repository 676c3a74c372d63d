"""Kafka for the event sources: entity topics created with the AdminClient, and an idempotent producer that records
every record's fate (partition and offset, or the error) in a ledger."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
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
        """Returns the acknowledged records per second (failed and unanswered records are not throughput)."""
        return self.acked / self.seconds if self.seconds else 0.0


def read_ledger(path: Path) -> list[LedgerEntry]:
    """Returns the entries of a producer ledger file in the order they were produced (the file holds them in the
    order Kafka answered)."""
    with path.open() as f:
        entries = [LedgerEntry(**json.loads(line)) for line in f if line.strip()]
    return sorted(entries, key=lambda e: e.seq)


class _Ledger:
    """The ledger file, appended a line as each record's fate is known and flushed as it goes, so a producer killed
    at any point leaves every acknowledgement it received on disk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._out = path.open("w", buffering=1)  # line-buffered: each line reaches the file when written
        self.pending: dict[int, LedgerEntry] = {}
        self.acked = 0

    def record(self, entry: LedgerEntry, status: str, **fate: object) -> None:
        entry.status = status
        for name, value in fate.items():
            setattr(entry, name, value)
        self.pending.pop(entry.seq, None)
        self.acked += status == "acked"
        self._out.write(json.dumps(asdict(entry)) + "\n")

    def close(self, why_unknown: str) -> None:
        """Writes every record still unanswered as ``unknown`` (it may or may not be in Kafka), then closes."""
        for entry in list(self.pending.values()):
            self.record(entry, "unknown", error=why_unknown)
        self._out.close()


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
    idempotent, acks=all producer; returns the counts. The ledger gets a line per record as Kafka answers: acked with
    partition and offset, or failed with the broker's reason (a record Kafka refuses, e.g. too large, is failed and
    the run goes on). Stopped early (Ctrl-C, SIGTERM, an error), it flushes what it can and writes the records still
    unanswered as unknown before the exception goes on; killed, it leaves every answer it had."""
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
    ledger = _Ledger(ledger_path)

    def delivered(entry: LedgerEntry, err: KafkaError | None, msg) -> None:
        if err is None:
            ledger.record(entry, "acked", partition=msg.partition(), offset=msg.offset())
        else:
            ledger.record(entry, "failed", error=str(err))

    began = time.monotonic()
    produced = 0
    why_unknown = "the producer stopped before Kafka answered; it may or may not have been written"
    try:
        with _sigterm_as_interrupt():
            for seq, record in enumerate(records):
                elapsed = time.monotonic() - began
                if duration_s is not None and elapsed >= duration_s:
                    break
                if rate and seq > rate * elapsed:
                    time.sleep(min(seq / rate - elapsed, 1.0))
                topic = settings.kafka_topic_prefix + CONTRACTS[record.entity].topic
                entry = LedgerEntry(seq, record.entity, record.event_id, record.kind, topic)
                ledger.pending[seq] = entry
                produced += 1
                _send(producer, topic, record, entry, delivered, ledger)
                if seq % 5000 == 0:
                    progress(seq, ledger.acked)
            remaining = producer.flush(120)
            why_unknown = f"not acknowledged within the flush timeout ({remaining} left)"
    except BaseException:
        producer.flush(10)
        raise
    finally:
        ledger.close(why_unknown)
    seconds = time.monotonic() - began
    progress(produced, ledger.acked)
    return ProduceReport(produced, ledger.acked, produced - ledger.acked, seconds, ledger.path)


def _send(producer, topic: str, record: Record, entry: LedgerEntry, delivered, ledger: _Ledger) -> None:
    while True:
        try:
            producer.produce(
                topic, value=record.value, key=record.key, on_delivery=lambda err, msg, e=entry: delivered(e, err, msg)
            )
            break
        except BufferError:  # local queue full: let deliveries drain, then retry the same record
            producer.poll(0.2)
        except KafkaException as err:  # refused before sending (e.g. larger than message.max.bytes)
            ledger.record(entry, "failed", error=str(err.args[0]))
            break
    producer.poll(0)


@contextmanager
def _sigterm_as_interrupt():
    """Turns SIGTERM into KeyboardInterrupt while producing (main thread only), so a terminated producer still
    writes its ledger."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
