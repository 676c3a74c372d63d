"""Benchmark of silver batches in a fresh Spark application on the running stack; prints figures, asserts nothing.

    .venv/bin/python benchmarks/silver_batches.py [--events 20000] [--batches 4]

A flow run (a catch-up, a CSV batch) starts a Spark application of its own, so its first batch pays the JVMs'
warm-up. Each JIT setting gets a fresh application in a process of its own (a process has one driver JVM): the
platform's (``spark.session.JIT_OPTIONS``, C1 only) and the JVM's default (tiered, C2), one after the other in the
same run. Each catches up on ``--events`` events through bronze and silver (the first batch), then on ``--batches``
more rounds of as many events, in the same application (the later batches). Figures: seconds per batch (Spark's
``addBatch``) and CPU seconds of the driver and executor JVMs over the later batches, with the ratios C1 / tiered.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from retail.composition import spark_session, start_stream
from retail.generator import GeneratorConfig, generate
from retail.kafka import ensure_topics, produce
from retail.settings import Settings
from spark.session import JIT_OPTIONS

SETTINGS = {"c1": JIT_OPTIONS, "tiered": ""}


def _jvm_cpu_s() -> dict[str, float]:
    """CPU seconds so far of this process's driver JVM and of the stack's Spark executors."""
    cpu = {"driver": 0.0, "executor": 0.0}
    for proc in psutil.process_iter(["cmdline", "cpu_times"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        times = proc.info["cpu_times"]
        if times is None:
            continue
        if "CoarseGrainedExecutorBackend" in cmdline:
            cpu["executor"] += times.user + times.system
        elif "SparkSubmit" in cmdline and proc.ppid() == psutil.Process().pid:
            cpu["driver"] += times.user + times.system
    return cpu


def _batches(spark, settings: Settings, events: int, seed: int) -> list[float]:
    """Sends ``events`` events, catches up through silver; returns each micro-batch's addBatch seconds."""
    records = list(itertools.islice(generate(GeneratorConfig(seed=seed, bad_fraction=0.05)), events))
    with tempfile.TemporaryDirectory() as tmp:
        if produce(records, settings, Path(tmp) / "ledger.jsonl").failed:
            raise SystemExit("some records were not acknowledged")
    query = start_stream(spark, settings, trigger_seconds=None, silver=True)
    query.awaitTermination()
    return [p["durationMs"]["addBatch"] / 1000 for p in query.recentProgress]


def child(jit: str, events: int, rounds: int) -> dict:
    """One fresh application with one JIT setting; returns its figures."""
    run = uuid.uuid4().hex[:8]
    settings = Settings().model_copy(
        update={"kafka_topic_prefix": f"bench{run}-", "cassandra_keyspace": f"bench{run}", "lake_path": f"/bench/{run}"}
    )
    ensure_topics(settings)
    options = SETTINGS[jit]
    began = time.perf_counter()
    spark = spark_session(
        settings,
        f"bench-silver-batches-{jit}",
        conf={"spark.driver.extraJavaOptions": options, "spark.executor.extraJavaOptions": options},
    )
    spark.sparkContext.setLogLevel("WARN")
    session_s = time.perf_counter() - began
    first = _batches(spark, settings, events, seed=1)
    before = _jvm_cpu_s()
    later = [s for r in range(rounds) for s in _batches(spark, settings, events, seed=2 + r)]
    after = _jvm_cpu_s()
    spark.stop()
    return {
        "session_s": round(session_s, 1),
        "first_batch_s": round(sum(first), 1),
        "later_batch_s": round(statistics.median(later), 1),
        "later_driver_cpu_s": round((after["driver"] - before["driver"]) / len(later), 1),
        "later_executor_cpu_s": round((after["executor"] - before["executor"]) / len(later), 1),
    }


def main() -> None:
    """Runs both settings, each in a process of its own, and prints the figures and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--child", choices=tuple(SETTINGS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.events, args.batches)))
        return
    figures = {}
    for jit in SETTINGS:
        command = [
            sys.executable,
            __file__,
            "--child",
            jit,
            "--events",
            str(args.events),
            "--batches",
            str(args.batches),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the {jit} run failed:\n{done.stderr[-3000:]}")
        figures[jit] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{jit:>7}: {figures[jit]}")
    c1, tiered = figures["c1"], figures["tiered"]
    ratios = {
        k: round(c1[k] / tiered[k], 2) for k in ("first_batch_s", "later_batch_s", "later_driver_cpu_s") if tiered[k]
    }
    print(
        f"C1 / tiered: first batch {ratios.get('first_batch_s')}x, later batches {ratios.get('later_batch_s')}x, "
        f"driver CPU per later batch {ratios.get('later_driver_cpu_s')}x"
    )
    print(json.dumps({"events": args.events, "batches": args.batches, **figures, "c1_over_tiered": ratios}))


if __name__ == "__main__":
    main()
