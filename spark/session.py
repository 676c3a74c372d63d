"""Spark sessions for every job: one place that knows the master, the driver address and the Kafka connector."""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable, Mapping
from functools import wraps
from typing import TypeVar

from pyspark import SparkContext
from pyspark.sql import SparkSession

T = TypeVar("T")

# The driver's and the executors' JIT compiles with C1 only. A micro-batch plans and compiles new code in short bursts
# (the driver ~8 Spark jobs per silver batch) and a flow run's Spark lives minutes, so C2's costly recompilation
# rarely pays back on two shared cores. Measured (benchmarks/silver_batches.py, 20,000-event batches): a fresh
# application's first batch 0.82x the tiered JIT's time, later batches 1.11x, on 0.6x the driver's CPU.
JIT_OPTIONS = "-XX:TieredStopAtLevel=1"


def per_context(build: Callable[..., T]) -> Callable[..., T]:
    """Returns ``build`` (a function of hashable arguments, a contract say, that builds Column expressions) memoized
    per Spark context. A Column expression is unresolved, bound to no DataFrame, so every batch can take the same
    ones: building a contract's parse and rules anew took ~16,000 py4j calls, over 2 s of the driver's time per
    batch."""
    built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @wraps(build)
    def memoized(*args):
        context = SparkContext._active_spark_context
        if context is None:
            raise RuntimeError(f"{build.__name__} builds Spark columns: start a Spark session first")
        cache = built.setdefault(context, {})
        if args not in cache:
            cache[args] = build(*args)
        return cache[args]

    return memoized


def build_session(
    app_name: str,
    master: str,
    *,
    driver_host: str = "127.0.0.1",
    executor_memory: str = "1g",
    cores: int = 2,
    jars: tuple[str, ...] = (),
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Returns a SparkSession on ``master`` (``spark://...`` or ``local[n]``) with UTC time and small shuffles, its
    driver (and web UI) on ``driver_host``, taking at most ``cores`` cores of executors of ``executor_memory``."""
    # Executors run Python with the interpreter the driver names in PYSPARK_PYTHON (spark.pyspark.python is read
    # by spark-submit only): name this one, so they import this project and its pinned packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # The driver's web UI binds to SPARK_LOCAL_IP (all interfaces without it), not to spark.driver.bindAddress.
    os.environ.setdefault("SPARK_LOCAL_IP", driver_host)
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master != master:
        # A process holds one SparkContext and getOrCreate would silently hand back the one on another master.
        # (Jars still cannot join the driver's classpath once its JVM runs: start such jobs in a fresh process.)
        active.stop()
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master)
        .config("spark.driver.host", driver_host)
        .config("spark.driver.bindAddress", driver_host)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.executor.memory", executor_memory)
        .config("spark.cores.max", str(cores))
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", JIT_OPTIONS)
        .config("spark.executor.extraJavaOptions", JIT_OPTIONS)
    )
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
