"""Benchmark of the live path on the running stack; prints figures, asserts nothing.

    .venv/bin/python benchmarks/realtime.py [--rates 1000,2000,5000] [--seconds 60] [--producers 2]

The live pair runs as ``retail bronze stream --silver`` runs it: the fresh path (Kafka -> Cassandra, in Spark's
real-time mode on the JVM) beside the exactly-once stream (Kafka -> bronze + silver + quarantine + counts, Cassandra
corrections; a micro-batch every ``--trigger-seconds``). Sharded producer processes offer each rate open-loop (paced
by the clock, not by the consumers) with 5 % bad records of every kind, each event happening as it is sent (a live
shop); the produce time travels in the Kafka timestamp. Per rate:

- consumer lag of the silver stream sampled every second, and its slope (steady: no upward slope; the fresh path's
  real-time batches report their offsets only when they end, so its lag shows in its latency instead);
- produce -> readable in Cassandra per row: ``written_at`` (set by the coordinator) - ``produced_at`` (the Kafka
  timestamp), over every clickstream row of the rate's window;
- produce -> shown by the live view: the live feed's refresh (``retail.dashboards.live``) run every
  ``live_refresh_s`` on the run's keyspace; a purchase is shown when the first refresh that began after Cassandra
  had it (its ``written_at``) has replaced the view's file;
- produce -> in silver per row: the commit of the row's micro-batch (its counts file) - the Kafka timestamp;
- Spark jobs per silver micro-batch, its duration, the median phases of each query's batches (Spark's
  ``durationMs``) and the seconds of the silver batch's jobs by output (bronze, judge, silver per entity, ...).

The live pair's own CPU (its Python driver, driver JVM and executor JVM with its Python workers, from /proc): idle
for ``--idle-seconds`` with no events, then at the live shop's 20 events/s for as long.

Baselines in the same run: the bronze-only catch-up of the same topics and a naive consumer (one message at a time,
one synchronous unprepared INSERT each). The per-batch cost against history: judging a batch against an empty state
and against the state of ``--history`` events (silver reads no history; the state is what grows). The last line is
one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from retail import scratch
from retail.connections import kafka_consumer
from retail.contracts import CONTRACTS, PURCHASES
from retail.settings import Settings

QUANTILES = (0.5, 0.95, 0.99)


def producer_shard(settings: Settings, shard: int, shards: int, rate: float, seconds: float, barrier, results) -> None:
    """Runs in its own process: generates its shard's records first, then offers them at ``rate`` for ``seconds``."""
    from retail.generator import GeneratorConfig, generate, happening_now
    from retail.kafka import produce

    # Big waves (an hour of event time each) starting well in the past: every event's time lies behind the
    # producer's clock, so no valid event trips the far-future rule however many are offered.
    config = GeneratorConfig(
        seed=1, bad_fraction=0.05, shard=shard, shards=shards, start=_recent(), customers_per_wave=2500
    )
    records = list(itertools.islice(generate(config), int(rate * seconds)))
    barrier.wait()
    with tempfile.TemporaryDirectory() as tmp:
        report = produce(happening_now(records), settings, Path(tmp) / "ledger.jsonl", rate=rate)
    results.put((report.acked, report.failed, report.seconds))


def _recent() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=10)


def offer(settings: Settings, rate: int, seconds: float, producers: int, phase: tuple[int, int], sample) -> dict:
    """Offers ``rate`` events/s from ``producers`` processes; calls ``sample()`` every second meanwhile. Phase ``i``
    of ``n`` generates its own shards of one seed: no phase repeats another's events."""
    i, n = phase
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(producers + 1), ctx.Queue()
    shards = [
        ctx.Process(
            target=producer_shard,
            args=(settings, i * producers + k, n * producers, rate / producers, seconds, barrier, queue),
        )
        for k in range(producers)
    ]
    for shard in shards:
        shard.start()
    barrier.wait(timeout=600)
    began = time.time()
    results = []
    while len(results) < producers:
        sample()
        time.sleep(max(0.0, 1.0 - (time.time() - began) % 1.0))
        while not queue.empty():
            results.append(queue.get())
        if any(s.exitcode not in (None, 0) for s in shards):
            raise SystemExit("a producer process failed")
    for shard in shards:
        shard.join()
    acked = sum(r[0] for r in results)
    return {
        "began": began,
        "ended": time.time(),
        "acked": acked,
        "failed": sum(r[1] for r in results),
        "produce_rate": acked / max(r[2] for r in results),
    }


class Lag:
    """Consumer lag of streaming queries: the topics' end offsets minus what each query's last batch reached."""

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import TopicPartition

        self.consumer = kafka_consumer(settings, f"lag-{uuid.uuid4().hex[:6]}")
        topics = [settings.kafka_topic_prefix + c.topic for c in CONTRACTS.values()]
        metadata = self.consumer.list_topics(timeout=15).topics
        self.partitions = [TopicPartition(t, p) for t in topics for p in metadata[t].partitions]

    def ends(self) -> dict[tuple[str, int], int]:
        """Returns the end offset of every partition of the entity topics."""
        return {
            (tp.topic, tp.partition): self.consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1]
            for tp in self.partitions
        }

    @staticmethod
    def of(query, ends: dict[tuple[str, int], int]) -> int:
        """Returns how many records of ``ends`` the query's last batch has not reached."""
        reached = reached_offsets(query)
        return sum(end - int(reached.get(t, {}).get(str(p), 0)) for (t, p), end in ends.items())


def reached_offsets(query) -> dict[str, dict[str, int]]:
    """Returns the end offsets of a query's last batch, over all its Kafka sources."""
    progress, reached = query.lastProgress, {}
    for source in (progress or {}).get("sources", []):
        end = source["endOffset"]
        reached.update(json.loads(end) if isinstance(end, str) else (end or {}))
    return reached


def quantiles(values) -> dict[str, float]:
    """Returns p50, p95 and p99 of ``values`` (zeros when there are none)."""
    values = np.asarray(values, dtype=float)
    if not len(values):
        return {f"p{int(q * 100)}": float("nan") for q in QUANTILES}
    return {f"p{int(q * 100)}": round(float(np.quantile(values, q)), 3) for q in QUANTILES}


def slope(samples: list[tuple[float, int]]) -> float:
    """Lag growth in records/s over the second half of the samples (the first half includes the ramp-up)."""
    half = samples[len(samples) // 2 :]
    if len(half) < 3:
        return float("nan")
    return statistics.linear_regression([t for t, _ in half], [lag for _, lag in half]).slope


def cassandra_latency(session, began: float, ended: float) -> list[float]:
    """Returns written_at - produced_at (s) of every clickstream row produced in [began, ended]."""
    query = (
        "SELECT produced_at, written_at FROM clickstream_by_session WHERE produced_at >= %s AND produced_at <= %s"
        " ALLOW FILTERING"
    )
    rows = session.execute(query, (datetime.fromtimestamp(began, UTC), datetime.fromtimestamp(ended, UTC)))
    return [(r.written_at - r.produced_at).total_seconds() for r in rows if r.written_at]


def silver_latency(spark, settings: Settings, began: float, ended: float) -> tuple[list[float], int]:
    """Returns the commit of its micro-batch - the Kafka timestamp (s) of every silver row produced in [began,
    ended], and how many batches they came in."""
    import pyspark.sql.functions as F

    counts = (
        spark.read.parquet(settings.lake().batch_counts)
        .groupBy("batch_id")
        .agg(F.max("recorded_at").alias("committed"))
    )
    rows = None
    for entity in CONTRACTS:
        frame = spark.read.parquet(settings.lake().silver(entity)).select("batch_id", "kafka_timestamp")
        rows = frame if rows is None else rows.unionByName(frame)
    window = (F.col("kafka_timestamp") >= datetime.fromtimestamp(began, UTC)) & (
        F.col("kafka_timestamp") <= datetime.fromtimestamp(ended, UTC)
    )
    joined = rows.where(window).join(counts, "batch_id")
    latency = joined.select(
        (F.unix_micros("committed") - F.unix_micros("kafka_timestamp")).alias("us"), "batch_id"
    ).toPandas()
    return list(latency["us"] / 1e6), latency["batch_id"].nunique()


def in_window(query, began: float) -> list[dict]:
    """Returns the progress of a query's batches that read rows since ``began``."""
    since = datetime.fromtimestamp(began, UTC).isoformat()[:19]
    return [p for p in query.recentProgress if p["numInputRows"] and p["timestamp"] >= since]


def profile(progress: list[dict]) -> dict[str, float]:
    """Returns the median of each phase of a micro-batch (Spark's ``durationMs``: addBatch, walCommit, ...)."""
    phases = {key for p in progress for key in p["durationMs"]}
    return {key: statistics.median(p["durationMs"].get(key, 0) for p in progress) for key in sorted(phases)}


def silver_jobs(spark, query_id: str) -> tuple[list[int], dict[str, float]]:
    """Returns the Spark jobs each micro-batch of the silver stream ran, and the median seconds a batch's jobs of
    each output took (bronze, judge, silver per entity, quarantine, cassandra, ...), from the driver's REST API."""
    ui = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{ui}/api/v1/applications/{app}/jobs") as response:
        jobs = json.load(response)
    per_batch: dict[str, int] = {}
    seconds: dict[tuple[str, str], float] = {}
    for job in jobs:
        description = job.get("description") or ""
        if query_id in description and "batch = " in description:  # the stream's own jobs (the batch counted)
            number = description.split("batch = ")[1].split()[0]
            batch, output = f"{query_id[:8]}-{number}", "stream"  # the batch's name in its outputs' jobs
        elif description.startswith(("bronze batch ", "silver batch ")):  # the outputs' (spark.concurrent)
            layer, _, rest = description.split(" ", 2)
            batch, _, name = rest.partition(": ")
            output = name or ("bronze" if layer == "bronze" else "judge")
        else:
            continue
        per_batch[batch] = per_batch.get(batch, 0) + 1
        if job.get("completionTime"):
            took = (_ui_time(job["completionTime"]) - _ui_time(job["submissionTime"])).total_seconds()
            seconds[(batch, output)] = seconds.get((batch, output), 0.0) + took
    outputs = sorted({output for _, output in seconds})
    return list(per_batch.values()), {
        o: round(statistics.median(v for (_, out), v in seconds.items() if out == o), 2) for o in outputs
    }


def _ui_time(text: str) -> datetime:
    return datetime.strptime(text.removesuffix("GMT"), "%Y-%m-%dT%H:%M:%S.%f")


def naive_consumer(settings: Settings, keyspace: str, n: int) -> tuple[float, int, str | None]:
    """Reads ``n`` purchases one message at a time and writes each with a synchronous, unprepared INSERT; returns
    the rows written per second (an INSERT that failed is not throughput), the failed INSERTs and the first one's
    error."""

    from retail.cassandra import CassandraTarget

    cluster = CassandraTarget.from_settings(settings).connect()
    session = cluster.connect()
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {{'class': 'SimpleStrategy', "
        "'replication_factor': 1}"
    )
    session.execute(
        f"CREATE TABLE IF NOT EXISTS {keyspace}.purchases (order_id text PRIMARY KEY, customer_id text, "
        "product_id text, quantity int, price decimal, purchase_date text)"
    )
    consumer = kafka_consumer(settings, f"naive-{uuid.uuid4().hex[:6]}", {"auto.offset.reset": "earliest"})
    consumer.subscribe([settings.kafka_topic_prefix + PURCHASES.topic])
    done, written, failed, first_error, began = 0, 0, 0, None, time.perf_counter()
    try:
        while done < n:
            message = consumer.poll(10)
            if message is None:
                break
            if message.error():
                continue
            try:
                event = json.loads(message.value())
                cql = (
                    f"INSERT INTO {keyspace}.purchases (order_id, customer_id, product_id, quantity, price, "
                    "purchase_date) VALUES (%s, %s, %s, %s, %s, %s)"
                )
                values = [event.get(k) for k in ("order_id", "customer_id", "product_id", "quantity", "price")]
                session.execute(cql, [*values, str(event.get("purchase_date"))])
                written += 1
            except Exception as err:  # noqa: BLE001 - a naive consumer skips what it cannot write, and counts it
                failed += 1
                first_error = first_error or f"{type(err).__name__}: {err}"
            done += 1
    finally:
        consumer.close()
        cluster.shutdown()
    return written / (time.perf_counter() - began), failed, first_error


def judge_cost(history: int, batch: int = 20_000, repeats: int = 5) -> dict[str, float]:
    """Returns the median ms to judge a batch of ``batch`` rows against an empty state and against the state of
    ``history`` earlier events (their ids, content digests and customers)."""
    from spark.silver.state import SilverState, judge

    rng = np.random.default_rng(7)
    now = int(time.time() * 1e6)
    entities = np.array(list(CONTRACTS))
    customers = rng.integers(-(2**63), 2**63 - 1, size=max(1, history // 20), dtype=np.int64)
    prefilled = SilverState()
    if history:
        entity = entities[rng.integers(0, 3, size=history)]
        keys = rng.integers(-(2**63), 2**63 - 1, size=history, dtype=np.int64)
        seen = pd.DataFrame(
            {"kind": "seen", "entity": entity, "key": keys, "hash": keys, "event_time": now, "ingested_at": now - 10**9}
        )
        prefilled.apply(seen)
        prefilled.apply(pd.DataFrame({"kind": "customer", "customer": customers, "ingested_at": now - 10**9}))
    frame = pd.DataFrame(
        {
            "entity": entities[rng.integers(0, 3, size=batch)],
            "topic": "t",
            "partition": 0,
            "offset": np.arange(batch, dtype=np.int64),
            "key": rng.integers(-(2**63), 2**63 - 1, size=batch, dtype=np.int64),
            "hash": rng.integers(-(2**63), 2**63 - 1, size=batch, dtype=np.int64),
            "customer": rng.choice(customers, size=batch),
            "event_time": now,
            "ingested_at": now,
            "valid": True,
            "origin": "b",
        }
    )
    figures = {}
    for name, state in (("empty", SilverState()), ("prefilled", prefilled)):
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            judge(frame, state, tuple(CONTRACTS))
            times.append((time.perf_counter() - began) * 1000)
        figures[name] = statistics.median(times)
    return figures


def process_tree(root: int) -> list[int]:
    """Returns ``root`` and every process below it."""
    table = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in table.splitlines():
        pid, parent = map(int, line.split())
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """Returns the CPU seconds (user + system) each living process of ``pids`` has used, from /proc."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """Returns the CPU seconds used between two readings: by the processes alive at both, and all of those started
    since (what a process that ended meanwhile used since the first reading is not known, and not counted)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def live_pair_pids(spark) -> list[int]:
    """Returns the live pair's processes: this Python driver, its driver JVM, and the application's executor JVMs
    with their Python workers (the producers, spawned later, are not among them)."""
    pids = [os.getpid(), spark.sparkContext._gateway.proc.pid]
    app = spark.sparkContext.applicationId
    executors = subprocess.run(["pgrep", "-f", "CoarseGrainedExecutorBackend"], capture_output=True, text=True)
    for pid in map(int, executors.stdout.split()):
        if app in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            pids.extend(process_tree(pid))
    return pids


def cpu_by_process(spark, settings: Settings) -> dict[str, dict[int, float]]:
    """Returns the CPU seconds used so far by the live pair, by each stack service with the processes below it (the
    Spark worker's: other applications' executors; the Prefect worker's: its flow runs, the demo's stream among
    them), per process, and by this process's finished children (the producer shards, as pid 0)."""
    from retail.stack import Stack

    pair = live_pair_pids(spark)
    seen, used = set(pair), {"live pair": cpu_seconds(pair)}
    for service in Stack(settings).status():
        if service.pid:
            used[service.name] = cpu_seconds([p for p in process_tree(service.pid) if p not in seen])
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    used["producers"] = {0: (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")}
    return used


def cores_used(spark, seconds: float) -> float:
    """Returns the cores the live pair used on average over ``seconds``."""
    before, began = cpu_seconds(live_pair_pids(spark)), time.monotonic()
    time.sleep(seconds)
    return cpu_between(before, cpu_seconds(live_pair_pids(spark))) / (time.monotonic() - began)


class LiveView:
    """Runs the live feed's refresh on the run's keyspace every ``live_refresh_s`` into a file of its own, and
    records when each began (read Cassandra) and ended (its file replaced)."""

    def __init__(self, settings: Settings, session, folder: Path) -> None:
        self.settings = settings.model_copy(update={"live_path": folder / "live.duckdb"})
        self.session, self.shown = session, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from retail.dashboards.live import refresh

        while not self.stop.is_set():
            began = time.time()
            with contextlib.suppress(Exception):  # a refresh that fails is tried again, as the feed does
                refresh(self.settings, self.session)
                self.shown.append((began, time.time()))
            self.stop.wait(max(0.0, self.settings.stack.live_refresh_s - (time.time() - began)))

    def latency(self, purchases: list[tuple[float, float]]) -> list[float]:
        """Returns, for purchases (produced, written to Cassandra; epoch seconds), how long each took from its
        producer until the end of the first refresh that began after Cassandra had it."""
        shown = sorted(self.shown)
        starts = [began for began, _ in shown]
        latencies = []
        for produced, written in purchases:
            k = bisect.bisect_left(starts, written)
            if k < len(shown):
                latencies.append(shown[k][1] - produced)
        return latencies


def purchases_written(session, began: float, ended: float) -> list[tuple[float, float]]:
    """Returns when each purchase produced in [began, ended] was produced and written to Cassandra (epoch s)."""
    query = (
        "SELECT produced_at, written_at FROM purchases_by_customer WHERE produced_at >= %s AND produced_at <= %s"
        " ALLOW FILTERING"
    )
    rows = session.execute(query, (datetime.fromtimestamp(began, UTC), datetime.fromtimestamp(ended, UTC)))
    epoch = lambda t: t.replace(tzinfo=UTC).timestamp()  # noqa: E731 - the driver gives naive UTC datetimes
    return [(epoch(r.produced_at), epoch(r.written_at)) for r in rows if r.written_at]


def stack_rss_mib(settings: Settings) -> float:
    """Returns the resident memory of every stack service together, in MiB."""
    from retail.stack import Stack

    return sum(s.rss_bytes for s in Stack(settings).status()) / 2**20


def main() -> None:
    """Runs the benchmark and prints its figures, the JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="1000,2000,5000", help="offered events/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=60, help="how long each rate is offered")
    parser.add_argument("--producers", type=int, default=2, help="producer processes (generator shards)")
    parser.add_argument("--trigger-seconds", type=float, default=30.0, help="the silver stream's trigger")
    parser.add_argument("--idle-seconds", type=float, default=300, help="how long the idle and 20 events/s CPU runs")
    parser.add_argument("--warmup-seconds", type=float, default=30, help="1,000 events/s before the figures count")
    parser.add_argument("--naive", type=int, default=3000, help="messages for the naive consumer")
    parser.add_argument("--history", type=int, default=10_000_000, help="events in the state for the cost figure")
    args = parser.parse_args()

    from retail.cassandra import CassandraTarget
    from retail.composition import spark_session, start_live, start_stream
    from retail.kafka import ensure_topics
    from retail.lake import SERVING_QUERY
    from spark.silver.serving import REAL_TIME

    run = uuid.uuid4().hex[:8]
    base = Settings().model_copy(update={"kafka_topic_prefix": f"rt{run}-", "cassandra_keyspace": f"rt{run}"})
    live = base.model_copy(update={"lake_path": f"/bench/{run}/live"})
    bronze_only = base.model_copy(update={"lake_path": f"/bench/{run}/bronze-only"})
    ensure_topics(base)

    spark = spark_session(live, "bench-realtime", live=True)
    spark.sparkContext.setLogLevel("WARN")
    spark.range(1000).selectExpr("sum(id)").collect()  # executors up before anything is timed
    serving, silver = start_live(spark, live, args.trigger_seconds)
    real_time = live.serving_mode == REAL_TIME
    lag = Lag(base)
    cluster = CassandraTarget.from_settings(base).connect()
    session = cluster.connect(base.cassandra_keyspace)
    view = LiveView(base, session, Path(tempfile.mkdtemp(prefix="bench-live-")))
    phases, warm, cpu = [], {"acked": 0}, {}

    def serving_lag(ends) -> int | None:
        return None if real_time else Lag.of(serving, ends)

    def fresh_path_writing() -> bool:
        """Whether the real-time fresh path wrote in the last 7 s (its tasks record what they wrote every 5 s)."""
        newest = session.execute(
            "SELECT written_at FROM serving_progress WHERE query = %s LIMIT 1", (SERVING_QUERY,)
        ).one()
        return bool(newest) and newest.written_at.replace(tzinfo=UTC).timestamp() > time.time() - 7

    def drain(what: str) -> float:
        """Waits until the silver stream has read everything there is and the fresh path too (a micro-batch one by
        its offsets, a real-time one by having nothing more to write); returns how long that took."""
        began = time.time()
        while True:
            ends = lag.ends()
            if not serving_lag(ends) and Lag.of(silver, ends) == 0 and not (real_time and fresh_path_writing()):
                return time.time() - began
            if time.time() - began > 900:
                raise SystemExit(f"the live pair did not catch up within 900 s after {what}")
            if serving.exception() or silver.exception():
                raise SystemExit(f"a query failed: {serving.exception() or silver.exception()}")
            time.sleep(0.5)

    try:
        # Warm-up: executors' Python workers, sessions and prepared statements exist before anything counts.
        rates = [int(r) for r in args.rates.split(",")]
        warm = offer(base, 1000, args.warmup_seconds, args.producers, (0, len(rates) + 1), sample=lambda: None)
        drain("the warm-up")
        for i, rate in enumerate(rates, start=1):
            samples: list[tuple[float, int, int]] = []

            def sample(samples=samples) -> None:
                ends = lag.ends()
                samples.append((time.time(), serving_lag(ends) or 0, Lag.of(silver, ends)))

            cpu_before = cpu_by_process(spark, base)
            offered = offer(base, rate, args.seconds, args.producers, (i, len(rates) + 1), sample=sample)
            cpu_after = cpu_by_process(spark, base)
            drain_s = drain(f"{rate:,} events/s")
            window = (offered["began"], offered["ended"])
            to_cassandra = cassandra_latency(session, *window)
            to_view = view.latency(purchases_written(session, *window))
            to_silver, batches = silver_latency(spark, live, *window)
            durations = [p["durationMs"]["triggerExecution"] / 1000 for p in in_window(silver, window[0])]
            phases.append(
                {
                    "offered": rate,
                    **{k: round(v, 1) for k, v in offered.items() if k in ("produce_rate",)},
                    "acked": offered["acked"],
                    "failed": offered["failed"],
                    "processed_per_s": round(offered["acked"] / (offered["ended"] - offered["began"] + drain_s)),
                    "drain_s": round(drain_s, 1),
                    "lag_slope_serving": round(slope([(t, a) for t, a, _ in samples]), 1),
                    "lag_slope_silver": round(slope([(t, b) for t, _, b in samples]), 1),
                    "max_lag_serving": max((a for _, a, _ in samples), default=0),
                    "max_lag_silver": max((b for _, _, b in samples), default=0),
                    "cassandra_rows": len(to_cassandra),
                    "cassandra_s": quantiles(to_cassandra),
                    "live_view_s": quantiles(to_view),
                    "silver_rows": len(to_silver),
                    "silver_s": quantiles(to_silver),
                    "silver_batches": batches,
                    "batch_s": quantiles(durations),
                    "serving_profile_ms": profile(in_window(serving, window[0])),
                    "silver_profile_ms": profile(in_window(silver, window[0])),
                    "cores_by_process": dict(
                        sorted(
                            (
                                (k, round(cpu_between(v, cpu_after.get(k, {})) / (window[1] - window[0]), 2))
                                for k, v in cpu_before.items()
                            ),
                            key=lambda kv: -kv[1],
                        )
                    ),
                }
            )
            print(json.dumps(phases[-1]))
        jobs, job_seconds = silver_jobs(spark, str(silver.id))
        rss = stack_rss_mib(base)
        # The live pair's own CPU: quiet, then a live shop's 20 events/s (producers are not the live pair's, nor is
        # the view's refresh: it stops first).
        view.stop.set()
        cpu["idle"] = cores_used(spark, args.idle_seconds)
        shop = threading.Thread(
            target=offer, args=(base, 20, args.idle_seconds + 10, 1, (len(rates) + 1, len(rates) + 2), lambda: None)
        )
        shop.start()
        time.sleep(5)
        cpu["20eps"] = cores_used(spark, args.idle_seconds)
        shop.join()
    finally:
        view.stop.set()
        for query in (serving, silver):
            if query.isActive:
                query.stop()
        cluster.shutdown()

    total = warm["acked"] + sum(p["acked"] for p in phases)  # the bronze-only catch-up reads the warm-up too
    began = time.perf_counter()
    baseline = start_stream(spark, bronze_only, trigger_seconds=None, max_offsets=None)  # the backlog in one batch
    baseline.awaitTermination()
    bronze_rate = total / (time.perf_counter() - began)
    spark.stop()
    naive_rate, naive_failed, naive_error = naive_consumer(base, f"rt{run}naive", args.naive)
    scratch.remove(  # the run's topics, keyspaces and lakes (the live and the bronze-only lake are in /bench/<run>)
        [
            live.model_copy(update={"lake_path": f"/bench/{run}"}),
            live.model_copy(update={"cassandra_keyspace": f"rt{run}naive"}),
        ]
    )
    cost = judge_cost(args.history)

    steady = [p for p in phases if p["lag_slope_silver"] <= 0.02 * p["offered"] and p["failed"] == 0]
    # The highest offered rate the live pair kept up with; when it kept up with none, what it processed at best.
    sustained = max((p["offered"] for p in steady), default=max(p["processed_per_s"] for p in phases))
    best = max(phases, key=lambda p: p["processed_per_s"])
    at_1k = next((p for p in phases if p["offered"] == 1_000), best)
    print()
    print(
        f"{'offered/s':>10} {'produced/s':>10} {'lag slope srv/silver':>21} {'Cassandra p50/p95/p99 s':>24} "
        f"{'silver p50/p95/p99 s':>21} {'batch p50 s':>11}"
    )
    for p in phases:
        c, s = p["cassandra_s"], p["silver_s"]
        print(
            f"{p['offered']:>10,} {p['produce_rate']:>10,.0f} {p['lag_slope_serving']:>10.0f}/"
            f"{p['lag_slope_silver']:<10.0f} {c['p50']:>8.2f}/{c['p95']:.2f}/{c['p99']:.2f}"
            f"{s['p50']:>11.2f}/{s['p95']:.2f}/{s['p99']:.2f} {p['batch_s']['p50']:>11.2f}"
        )
    kept = "kept up with" if steady else "kept up with no offered rate; processed at best"
    print(
        f"live pair {kept} {sustained:,} events/s; bronze-only catch-up {bronze_rate:,.0f}/s "
        f"(live = {sustained / bronze_rate:.2f}x); naive per-row consumer {naive_rate:,.0f} rows written/s "
        + (f"(live = {sustained / naive_rate:.1f}x)" if naive_rate else "(none written)")
        + (f", {naive_failed:,} INSERTs failed (first: {naive_error})" if naive_failed else "")
    )
    print(
        f"silver jobs per micro-batch: median {statistics.median(jobs) if jobs else 'n/a'}; judging a 20k batch: "
        f"{cost['empty']:.0f} ms with an empty state, {cost['prefilled']:.0f} ms with {args.history:,} events "
        f"({cost['prefilled'] / cost['empty']:.2f}x); stack RSS {rss:,.0f} MiB"
    )
    print(f"live pair CPU: {cpu['idle']:.3f} cores idle, {cpu['20eps']:.3f} cores at 20 events/s")
    print("seconds of Spark jobs per silver batch, by output (median; outputs run side by side):", job_seconds)
    print(
        json.dumps(
            {
                "events_per_s": sustained,
                "sustained": bool(steady),
                "best_processed_per_s": best["processed_per_s"],
                "serving_mode": live.serving_mode,
                "p50_cassandra_s": at_1k["cassandra_s"]["p50"],
                "p95_cassandra_s": at_1k["cassandra_s"]["p95"],
                "p99_cassandra_s": at_1k["cassandra_s"]["p99"],
                "p95_live_view_s": at_1k["live_view_s"]["p95"],
                "p95_silver_s": at_1k["silver_s"]["p95"],
                "cpu_cores_idle": round(cpu["idle"], 3),
                "cpu_cores_20eps": round(cpu["20eps"], 3),
                "bronze_only_per_s": round(bronze_rate),
                "naive_per_s": round(naive_rate),
                "naive_failed": naive_failed,
                "jobs_per_batch": statistics.median(jobs) if jobs else None,
                "job_seconds_by_output": job_seconds,
                "judge_ms_empty": round(cost["empty"], 1),
                "judge_ms_history": round(cost["prefilled"], 1),
                "history": args.history,
                "stack_rss_mib": round(rss),
                "phases": phases,
            }
        )
    )


if __name__ == "__main__":
    main()
