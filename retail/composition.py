"""Composition at the edge: settings become Spark sessions, silver targets and started streams here, and only here.
The CLI, the flows, the tests and the benchmarks build their jobs through this module.

Imports of pyspark and of the ``spark`` package sit inside the functions (the project's one rule for function-level
imports: a module that commands without Spark also load defers the import of Spark to the function that needs it),
so that ``retail --help``, the flows' workers and the stack manager start without loading Spark; the types come in
for the type checker alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from retail.lake import BRONZE_ONLY_QUERY, SERVING_QUERY, STREAM_QUERY
from retail.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming import StreamingQuery

    from spark.bronze.csv_header import CsvDialect
    from spark.silver.job import SilverTargets

# Most Kafka records per micro-batch, by default: a catch-up over a long backlog runs in bounded batches (one that
# fails is retried alone, and none needs memory in proportion to the backlog). None lifts the bound.
BATCH_RECORDS = 50_000
# The live pair's silver cadence: the fresh path makes Cassandra current within a second, so the exactly-once stream
# runs a few batches a minute (each with a fixed cost of Spark jobs and HDFS commits), not one every other second.
LIVE_TRIGGER_S = 30.0


def serving_slots(settings: Settings) -> int:
    """Returns the task slots the fresh path takes in real-time mode: one per Kafka partition of the entity topics."""
    from retail.contracts import CONTRACTS

    return settings.kafka_partitions * len(CONTRACTS)


def spark_session(
    settings: Settings,
    app_name: str,
    master: str | None = None,
    conf: dict[str, str] | None = None,
    live: bool = False,
) -> SparkSession:
    """Returns a Spark session on the configured master (or ``master``) with the Kafka connector and the fresh
    path's writer; ``conf`` adds to (or overrides) the session's Spark settings; ``live``: it also takes a task slot
    per Kafka partition for the fresh path in real-time mode (see ``start_live``)."""
    from retail.stack.artifacts import fetch, load_groups
    from retail.stack.jvm import serving_jars
    from spark.session import build_session

    connector = fetch(load_groups(settings.stack.cache_dir)["spark-kafka"])
    jars = tuple(str(j) for j in (*sorted(connector.glob("*.jar")), *serving_jars(settings.stack.cache_dir)))
    # Two queries share the executors when the serving query runs beside the silver stream: fair scheduling lets
    # the serving query's short tasks in between a long silver batch's.
    conf = {"spark.scheduler.mode": "FAIR", **(conf or {})}
    return build_session(
        app_name,
        master or settings.endpoints().spark_master,
        driver_host=settings.spark_driver_host,
        executor_memory=settings.spark_executor_memory,
        cores=settings.spark_cores + (serving_slots(settings) if live else 0),
        jars=jars,
        conf=conf,
    )


def csv_dialect(settings: Settings, **overrides: object) -> CsvDialect:
    """Returns the CSV dialect the settings declare (``overrides`` that are not None win, e.g. CLI options)."""
    from spark.bronze.csv_header import CsvDialect

    declared = settings.csv.model_dump()
    return CsvDialect(**{**declared, **{k: v for k, v in overrides.items() if v is not None}})


def silver_targets(settings: Settings, serving: bool = False) -> SilverTargets:
    """Returns the silver targets of ``settings``' lake, with the Cassandra keyspace and tables made ready;
    ``serving``: a serving query writes Cassandra's silver rows (see ``start_serving``)."""
    from retail.cassandra import CassandraTarget, ensure_schema
    from spark.silver.job import SilverTargets

    cassandra = CassandraTarget.from_settings(settings)
    ensure_schema(cassandra, settings.cassandra_replication)
    return SilverTargets.under(settings.lake(), cassandra, serving)


def start_stream(
    spark: SparkSession,
    settings: Settings,
    trigger_seconds: float | None,
    max_offsets: int | None = BATCH_RECORDS,
    silver: bool = False,
    serving: bool = False,
):
    """Starts the bronze stream with every path and topic taken from ``settings``; None runs availableNow; with
    ``silver`` each micro-batch also lands in silver and quarantine (and Cassandra: all of silver, or with
    ``serving`` only what a serving query beside it cannot know)."""
    from spark.ingest import start_kafka_stream

    query = STREAM_QUERY if silver else BRONZE_ONLY_QUERY
    return start_kafka_stream(
        spark,
        bootstrap_servers=settings.endpoints().kafka_bootstrap_servers,
        bronze_root=settings.lake().bronze_kafka,
        checkpoint=settings.lake().checkpoint(query),
        query_name=query,
        topic_prefix=settings.kafka_topic_prefix,
        trigger_seconds=trigger_seconds,
        max_offsets_per_trigger=max_offsets,
        silver=silver_targets(settings, serving) if silver else None,
        kafka_options=settings.kafka_security.spark_options(),
    )


def start_serving(spark: SparkSession, settings: Settings, max_offsets: int | None = BATCH_RECORDS) -> StreamingQuery:
    """Starts the serving query (the fresh path): every record that passes the row rules into Cassandra as soon as
    it is read, in ``settings.serving_mode`` where the session has the slots for it (``spark_session(live=True)``).
    Creates the entity topics that do not exist yet: a stream may start before the first event is sent, and a
    real-time query keeps a task on each partition of topics that must exist."""
    from retail.cassandra import CassandraTarget, ensure_schema
    from retail.kafka import ensure_topics
    from spark.silver.serving import sink_config, start_serving_stream

    ensure_topics(settings)
    cassandra = CassandraTarget.from_settings(settings)
    ensure_schema(cassandra, settings.cassandra_replication)
    return start_serving_stream(
        spark,
        bootstrap_servers=settings.endpoints().kafka_bootstrap_servers,
        checkpoint=settings.lake().checkpoint(SERVING_QUERY),
        config=sink_config(cassandra, settings.cassandra_datacenter),
        kafka_partitions=serving_slots(settings),
        spare_slots=settings.spark_cores,
        topic_prefix=settings.kafka_topic_prefix,
        mode=settings.serving_mode,
        real_time_batch_s=settings.serving_batch_s,
        max_offsets_per_trigger=max_offsets,
        kafka_options=settings.kafka_security.spark_options(),
    )


def start_live(
    spark: SparkSession, settings: Settings, trigger_seconds: float, max_offsets: int | None = BATCH_RECORDS
) -> tuple[StreamingQuery, StreamingQuery]:
    """Starts the live pair: the serving query, then the exactly-once bronze + silver stream; returns both. The
    session should come from ``spark_session(live=True)``: real-time mode needs its own task slots."""
    serving = start_serving(spark, settings, max_offsets)
    return serving, start_stream(spark, settings, trigger_seconds, max_offsets, silver=True, serving=True)


def run_queries(spark: SparkSession, queries: Sequence[StreamingQuery], until_all: bool = False) -> None:
    """Waits until one of ``queries`` ends (or, ``until_all``, every one of them: catch-ups), stops the others, and
    raises the first failure as RuntimeError naming its query. An interrupt (Ctrl-C, a cancelled run) stops them
    all on its way up."""
    from pyspark.errors import StreamingQueryException

    try:
        if until_all:
            for query in queries:
                query.awaitTermination()
        else:
            spark.streams.awaitAnyTermination()
    except StreamingQueryException:
        pass  # raised below, with the name of the query that failed
    finally:
        for query in queries:
            if query.isActive:
                query.stop()
    failed = next((q for q in queries if q.exception()), None)
    if failed:
        raise RuntimeError(f"{failed.name} failed: {failed.exception()}")
