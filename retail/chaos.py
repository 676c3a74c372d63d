"""Faults injected into the running stack while generated events flow through the live stream, then a reconciliation
of bronze, silver and Cassandra against the producer ledgers: events lost, duplicated and phantom (there but never
sent) must all be 0.

A trial has lake folders, topics and a keyspace of its own. The live stream (`retail bronze stream --silver`: the
serving query and the exactly-once bronze/silver query) runs in a process group of its own, and, once it runs, the
producer (`retail generate kafka --rate R`) in another, sending until every fault has been injected and the stream
resumed; then it is stopped as a user stops it (SIGTERM: what Kafka never answered is in its ledger as unknown). A
fault acts on a process by the pid the stack keeps (kill -9, or SIGSTOP then SIGCONT for a node that hangs), and
the stack manager restarts what was killed. Like the supervisor, the trial restarts the stream whenever it has
died. A fault's resume time runs from the fault to the first micro-batch the stream commits after it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from retail import scratch
from retail.settings import Settings

COMMIT_DEADLINE_S = 600.0  # the longest a trial waits for the stream to commit again after a fault
FLOW_S = 10.0  # events flow this long through a running stream before each fault, and after the last
RUNNING = b"bronze stream running"  # what `retail bronze stream` prints once its queries run


@dataclass
class Reconciliation:
    """Events lost, duplicated and phantom in one layer."""

    lost: int = 0
    duplicated: int = 0
    phantom: int = 0

    @property
    def clean(self) -> bool:
        """Returns whether nothing was lost, doubled or made up."""
        return self.lost == self.duplicated == self.phantom == 0


@dataclass
class Outcome:
    """What one fault did: events the producers got acknowledged, resume time of each round, restarts of the
    stream, and the reconciliation of each layer."""

    fault: str
    rounds: int
    produced: int = 0
    resume_s: list[float] = field(default_factory=list)
    stream_restarts: int = 0
    layers: dict[str, Reconciliation] = field(default_factory=dict)
    kept: str | None = None  # where the trial's data was kept to look at, when it did not reconcile clean

    @property
    def clean(self) -> bool:
        """Returns whether every layer reconciled with nothing lost, doubled or made up."""
        return bool(self.layers) and all(r.clean for r in self.layers.values())


class Trial:
    """One fault's run: its own topics, lake and keyspace; the live stream and the producer as processes."""

    def __init__(self, settings: Settings, work: Path, *, rate: int) -> None:
        run = uuid.uuid4().hex[:8]
        self.settings = scratch.of(settings, f"chaos{run}", "/chaos")
        self.work, self.rate = work / run, rate
        self.work.mkdir(parents=True, exist_ok=True)
        self.stream: subprocess.Popen | None = None
        self.producer: subprocess.Popen | None = None
        self.ledgers: list[Path] = []
        self.restarts = 0

    @property
    def env(self) -> dict[str, str]:
        """The environment that points a process at this trial's topics, lake and keyspace."""
        s = self.settings
        return {
            **os.environ,
            "RETAIL_KAFKA_TOPIC_PREFIX": s.kafka_topic_prefix,
            "RETAIL_LAKE_PATH": s.lake_path,
            "RETAIL_CASSANDRA_KEYSPACE": s.cassandra_keyspace,
        }

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.work / f"{name}.log").open("ab")
        command = [str(Path(sys.executable).parent / "retail"), *args]
        return subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_stream(self) -> None:
        """Starts the live stream (serving + exactly-once silver), small micro-batches."""
        self.stream = self._spawn("stream", "bronze", "stream", "--silver", "--trigger-seconds", "1")

    def keep_stream_alive(self) -> None:
        """Restarts the stream when it has died, as the supervisor does."""
        if self.stream is not None and self.stream.poll() is not None:
            self.restarts += 1
            time.sleep(2)
            self.start_stream()

    def kill_stream(self) -> None:
        """Kills the stream's driver and its JVM at once (kill -9 of the process group)."""
        assert self.stream is not None
        os.killpg(self.stream.pid, signal.SIGKILL)
        self.stream.wait()

    def stop_stream(self) -> None:
        """Stops the stream as a user does (Ctrl-C), then makes sure nothing of it is left."""
        if self.stream is None or self.stream.poll() is not None:
            return
        os.killpg(self.stream.pid, signal.SIGINT)
        try:
            self.stream.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.stream.pid, signal.SIGKILL)
            self.stream.wait()

    def wait_stream_running(self) -> None:
        """Waits until the stream (started or restarted last) says its queries run."""
        deadline = time.monotonic() + COMMIT_DEADLINE_S
        log = self.work / "stream.log"
        while log.read_bytes().count(RUNNING) < self.restarts + 1:
            self.keep_stream_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stream did not start in {COMMIT_DEADLINE_S:.0f} s; see {log}")
            time.sleep(0.5)

    def start_producer(self) -> None:
        """Sends events at the trial's rate until stopped (same seed every time: a second start re-sends the same
        events from the first)."""
        ledger = self.work / f"ledger-{len(self.ledgers)}.jsonl"
        self.ledgers.append(ledger)
        args = ["generate", "kafka", "--duration", "7200", "--rate", str(self.rate), "--seed", "7"]
        self.producer = self._spawn("producer", *args, "--ledger", str(ledger))

    def stop_producer(self) -> None:
        """Stops the producer as a user does (SIGTERM): its ledger is complete, unanswered records as unknown."""
        assert self.producer is not None
        if self.producer.poll() is None:
            os.killpg(self.producer.pid, signal.SIGTERM)
        self.producer.wait(timeout=120)

    def committed(self) -> int:
        """Returns the number of micro-batches the exactly-once query committed (0 before the first)."""
        from retail.stream_status import stream_status

        try:
            last = stream_status(self.settings).last_batch
        except Exception:  # noqa: BLE001 (HDFS or Kafka may be the node that is down: no news yet)
            return -1
        return -1 if last is None else last

    def wait_for_commit(self, after: int, began: float) -> float:
        """Waits until the stream committed a batch after ``after``; returns the seconds since ``began``."""
        deadline = time.monotonic() + COMMIT_DEADLINE_S
        while self.committed() <= after:
            self.keep_stream_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stream committed nothing in {COMMIT_DEADLINE_S:.0f} s; see {self.work}")
            time.sleep(0.5)
        return time.monotonic() - began

    def wait_caught_up(self) -> None:
        """Waits until the stream has read everything in Kafka and committed it."""
        from retail.stream_status import stream_status

        deadline = time.monotonic() + COMMIT_DEADLINE_S
        while True:
            self.keep_stream_alive()
            try:
                if stream_status(self.settings).total_lag == 0:
                    return
            except Exception:  # noqa: BLE001 (a node still recovering: ask again)
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stream did not catch up in {COMMIT_DEADLINE_S:.0f} s; see {self.work}")
            time.sleep(1)


def _stack_process(settings: Settings, name: str):
    from retail.stack.manager import Stack

    proc = Stack(settings).process(name)
    if proc is None:
        raise RuntimeError(f"{name} is not running: start the stack first (`./run stack up`)")
    return proc


def _restart_stack(settings: Settings) -> None:
    from retail.stack.manager import Stack

    Stack(settings).up(report=lambda _: None, fetch=False)


def kill_stream(trial: Trial, round_: int) -> float:
    """Streaming driver (and its JVM) killed with kill -9, restarted at once."""
    after = trial.committed()
    began = time.monotonic()
    trial.kill_stream()
    trial.start_stream()
    trial.restarts += 1
    return trial.wait_for_commit(after, began)


def _kill_service(name: str) -> Callable[[Trial, int], float]:
    def fault(trial: Trial, round_: int) -> float:
        after = trial.committed()
        began = time.monotonic()
        _stack_process(trial.settings, name).kill()
        time.sleep(2)
        _restart_stack(trial.settings)
        return trial.wait_for_commit(after, began)

    fault.__doc__ = f"kill -9 of {name}, restarted by the stack manager."
    return fault


def _stop_service(name: str, seconds: float) -> Callable[[Trial, int], float]:
    def fault(trial: Trial, round_: int) -> float:
        proc = _stack_process(trial.settings, name)
        after = trial.committed()
        began = time.monotonic()
        proc.suspend()
        try:
            _flow(trial, seconds)
        finally:
            proc.resume()
        return trial.wait_for_commit(after, began)

    fault.__doc__ = f"SIGSTOP of {name} for {seconds:.0f} s, then SIGCONT."
    return fault


def kill_producer(trial: Trial, round_: int) -> float:
    """Producer killed with kill -9 mid-run, then the same command again (it re-sends what it had sent)."""
    assert trial.producer is not None
    after = trial.committed()
    began = time.monotonic()
    os.killpg(trial.producer.pid, signal.SIGKILL)
    trial.producer.wait()
    trial.start_producer()
    return trial.wait_for_commit(after, began)


FAULTS: dict[str, Callable[[Trial, int], float]] = {
    "stream-kill": kill_stream,
    "producer-kill": kill_producer,
    "kafka-kill": _kill_service("kafka"),
    "kafka-stop-30s": _stop_service("kafka", 30),
    "cassandra-stop-45s": _stop_service("cassandra", 45),
    "cassandra-kill": _kill_service("cassandra"),
    "datanode-kill": _kill_service("datanode"),
    "namenode-kill": _kill_service("namenode"),
}


def run_fault(settings: Settings, work: Path, fault: str, *, rounds: int, rate: int) -> Outcome:
    """Sends events at ``rate`` through the live stream, injects ``fault`` ``rounds`` times while they flow (each
    after the stream has committed for a while), stops sending once the stream resumed from the last, lets it catch
    up and reconciles every layer."""
    from retail.composition import silver_targets
    from retail.kafka import ensure_topics

    inject = FAULTS[fault]
    trial = Trial(settings, work, rate=rate)
    outcome = Outcome(fault, rounds)
    ensure_topics(trial.settings)
    silver_targets(trial.settings)  # keyspace and tables ready before the stream's first batch
    try:
        _drive(trial, inject, rounds, outcome)
        outcome.produced, outcome.layers = reconcile(trial.settings, trial.ledgers)
    except Exception as err:  # a trial that broke off is not clean either: its data stays
        err.add_note(f"kept to look at: {whereabouts(trial.settings, trial.work)}")
        raise
    tidy_up(outcome, trial.settings, trial.work)
    return outcome


def _drive(trial: Trial, inject: Callable[[Trial, int], float], rounds: int, outcome: Outcome) -> None:
    """Runs the trial (stream, producer, each fault, the catch-up) into ``outcome``; stops both whatever happened."""
    trial.start_stream()
    try:
        trial.wait_stream_running()
        trial.start_producer()
        for round_ in range(rounds):
            trial.wait_for_commit(trial.committed(), time.monotonic())
            _flow(trial, FLOW_S)
            outcome.resume_s.append(round(inject(trial, round_), 1))
        _flow(trial, FLOW_S)
        trial.stop_producer()
        trial.wait_caught_up()
    finally:
        trial.stop_stream()
        if trial.producer is not None and trial.producer.poll() is None:
            os.killpg(trial.producer.pid, signal.SIGKILL)
        outcome.stream_restarts = trial.restarts


def tidy_up(
    outcome: Outcome, settings: Settings, work: Path, remove: Callable[[list[Settings]], object] = scratch.remove
) -> None:
    """Removes a trial's topics, keyspace and lake folder once it reconciled clean; a trial that did not keeps them
    (and its ledgers and logs, which always stay) to look at, and says where in ``outcome.kept``."""
    if outcome.clean:
        remove([settings])
    else:
        outcome.kept = whereabouts(settings, work)


def whereabouts(settings: Settings, work: Path) -> str:
    """Returns where a trial's data is: its topics, keyspace and lake folder, and the folder of its ledgers and logs."""
    return (
        f"topics {settings.kafka_topic_prefix}*, keyspace {settings.cassandra_keyspace}, lake folder "
        f"{settings.lake_uri()}; ledgers and logs in {work}"
    )


def _flow(trial: Trial, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        trial.keep_stream_alive()
        time.sleep(0.5)


def reconcile(settings: Settings, ledgers: list[Path]) -> tuple[int, dict[str, Reconciliation]]:
    """Returns the events acknowledged by Kafka and, per layer, what was lost, doubled or made up: an event is
    expected when any ledger has it acknowledged; one sent but never answered (a killed producer) may be anywhere.
    Bronze counts a Kafka record landed twice as duplicated (a re-sent event is two records: not a duplicate)."""
    from retail.kafka import read_ledger

    entries = [e for path in ledgers if path.exists() for e in read_ledger(path)]
    expected = {e.event_id for e in entries if e.status == "acked"}
    maybe = {e.event_id for e in entries} - expected
    bronze_ids, bronze_records = _bronze(settings)
    layers = {
        "bronze": _compare(expected, maybe, Counter(bronze_ids), Counter(bronze_records)),
        "silver": _compare(expected, maybe, _silver(settings)),
        "cassandra": _compare(expected, maybe, _cassandra(settings)),
    }
    return len(expected), layers


def _compare(expected: set[str], maybe: set[str], found: Counter, copies: Counter | None = None) -> Reconciliation:
    copies = found if copies is None else copies
    return Reconciliation(
        lost=len(expected - set(found)),
        duplicated=sum(n - 1 for n in copies.values() if n > 1),
        phantom=len(set(found) - expected - maybe),
    )


def _parquet(settings: Settings, uri: str, columns: list[str]):
    import pyarrow.dataset as ds

    from retail.connections import webhdfs

    fs = webhdfs(settings)
    path = urlparse(uri).path
    if not fs.exists(path):
        return None
    return ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive").to_table(columns=columns)


def _bronze(settings: Settings) -> tuple[list[str], list[tuple]]:
    table = _parquet(settings, settings.lake().bronze_kafka, ["value", "topic", "partition", "offset"])
    if table is None:
        return [], []
    rows = table.to_pylist()
    ids = [str(json.loads(r["value"]).get("event_id")) for r in rows]
    return ids, [(r["topic"], r["partition"], r["offset"]) for r in rows]


def _silver(settings: Settings) -> Counter:
    from retail.contracts import CONTRACTS

    found: Counter = Counter()
    for entity in CONTRACTS:
        table = _parquet(settings, settings.lake().silver(entity), ["event_id"])
        if table is not None:
            found.update(table.column("event_id").to_pylist())
    return found


def _cassandra(settings: Settings) -> Counter:
    from retail.cassandra import TABLE_OF_ENTITY
    from retail.connections import cassandra_cluster

    cluster = cassandra_cluster(settings)
    try:
        session = cluster.connect(settings.cassandra_keyspace)
        return Counter(
            row.event_id
            for table in TABLE_OF_ENTITY.values()
            for row in session.execute(f"SELECT event_id FROM {table.name}")
        )
    finally:
        cluster.shutdown()
