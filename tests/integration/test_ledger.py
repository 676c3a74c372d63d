"""The producer ledger on a real broker: it holds the fate of every record sent however the producer ends (SIGTERM,
kill -9, a record Kafka refuses), so a run can always be reconciled against it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from retail.connections import kafka_consumer
from retail.contracts import CONTRACTS
from retail.generator import Record
from retail.kafka import MAX_MESSAGE_BYTES, ensure_topics, produce, read_ledger

pytestmark = pytest.mark.integration


def _start_producer(settings, ledger: Path) -> subprocess.Popen:
    env = {**os.environ, "RETAIL_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix}
    command = [str(Path(sys.executable).parent / "retail"), "generate", "kafka", "--count", "10000000"]
    command += ["--rate", "2000", "--ledger", str(ledger)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_lines(ledger: Path, producer: subprocess.Popen, lines: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while not ledger.exists() or ledger.read_bytes().count(b"\n") < lines:
        assert producer.poll() is None, producer.stdout.read()
        assert time.monotonic() < deadline, f"fewer than {lines} ledger lines after {deadline_s} s"
        time.sleep(0.2)


def _messages_in_kafka(settings) -> int:
    consumer = kafka_consumer(settings, "ledger-test")
    try:
        topics = [settings.kafka_topic_prefix + c.topic for c in CONTRACTS.values()]
        total = 0
        for topic in topics:
            for partition in consumer.list_topics(topic, timeout=15).topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
                total += high - low
        return total
    finally:
        consumer.close()


def test_a_terminated_producer_writes_the_fate_of_every_record_it_sent(isolated, tmp_path, deadline):
    ledger = tmp_path / "ledger.jsonl"
    producer = _start_producer(isolated, ledger)
    _wait_for_lines(ledger, producer, 3000, deadline(300))

    producer.send_signal(signal.SIGTERM)
    output, _ = producer.communicate(timeout=deadline(120))

    assert producer.returncode == 1 and "stopped" in output, output
    entries = read_ledger(ledger)
    assert [e.seq for e in entries] == list(range(len(entries)))  # every record sent, once
    assert {e.status for e in entries} <= {"acked", "unknown"}
    acked = [e for e in entries if e.status == "acked"]
    assert len(acked) >= 3000 and all(e.offset is not None for e in acked)
    assert len(acked) <= _messages_in_kafka(isolated) <= len(entries)


def test_a_killed_producer_leaves_every_acknowledgement_it_had(isolated, tmp_path, deadline):
    ledger = tmp_path / "ledger.jsonl"
    producer = _start_producer(isolated, ledger)
    _wait_for_lines(ledger, producer, 3000, deadline(300))

    producer.kill()
    producer.communicate(timeout=deadline(60))

    lines = ledger.read_text().splitlines()
    entries = [json.loads(line) for line in lines[:-1]]  # the last line may have been cut by the kill
    assert len(entries) >= 2999
    assert len({e["seq"] for e in entries}) == len(entries)
    assert all(e["status"] == "acked" and e["offset"] is not None for e in entries)
    assert len(entries) <= _messages_in_kafka(isolated)


def test_a_record_kafka_refuses_is_failed_with_the_reason_and_the_others_go_on(isolated, tmp_path):
    ensure_topics(isolated)
    small = Record("customers", "e-small", b"C1", b'{"event_id":"e-small"}', "valid")
    huge = Record("customers", "e-huge", b"C2", b"x" * (MAX_MESSAGE_BYTES + 1024), "oversized")

    report = produce([small, huge, small], isolated, tmp_path / "ledger.jsonl")

    entries = read_ledger(report.ledger)
    assert [e.status for e in entries] == ["acked", "failed", "acked"]
    assert "too large" in entries[1].error.lower() or "MSG_SIZE_TOO_LARGE" in entries[1].error, entries[1].error
    assert (report.produced, report.acked, report.failed) == (3, 2, 1)
