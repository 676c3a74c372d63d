"""The fresh path: every Kafka record that passes its entity's row rules goes to its Cassandra table as soon as it
is read, beside the exactly-once silver path (``spark.silver.job``) and independent of it.

The rows are shaped here, in Spark SQL from the contracts (``servable``: the same parse and row rules silver
applies), and written on the JVM by ``retail.serving.CassandraSink`` (``jvm/``), a ``ForeachWriter`` on the
Cassandra Java driver: prepared statements, unlogged batches per partition key, asynchronous with back pressure.
No row crosses into Python. In Spark's real-time mode each Kafka partition has a task that stays on it and writes a
record as soon as it reads it (no batch boundary in between); where real-time mode cannot run (fewer task slots than
the Kafka partitions and the silver stream beside them need), the same writer runs in micro-batches, and the query
says so in its log.

It keeps no state and judges nothing across records: a duplicate is written again at the same inverted timestamp
(a no-op), a conflicting re-send loses to the first occurrence by timestamp, and what only the silver path can know
(a purchase that waits for its customer, a purchase released later) silver corrects with deletes and re-inserts at
higher timestamps (``retail.cassandra.writer``). So Cassandra converges to silver whatever order the two write in,
and a replay rewrites the same cells. Its checkpoint only says how far it has served; losing it replays from the
earliest offset, which is harmless.

The writer records its freshness in ``serving_progress`` every few seconds per task: how long its rows took from
their producer until Cassandra acknowledged them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from functools import reduce

import pyspark.sql.functions as F
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from retail.cassandra import SERVING_PROGRESS, TABLES_OF_ENTITY, CassandraTarget, Write, write_timestamp
from retail.cassandra.tables import PRODUCED_AT
from retail.contracts import CONTRACTS, Contract
from retail.lake import SERVING_QUERY
from spark.bronze.job import kafka_source
from spark.bronze.transforms import kafka_to_bronze
from spark.silver.transforms import parse_payload, serving_columns, typed, violations

REAL_TIME, MICRO_BATCH = "real-time", "micro-batch"
log = logging.getLogger("retail.serving")


def servable(bronze: DataFrame, contract: Contract) -> DataFrame:
    """Returns the rows of ``contract``'s entity in a bronze batch in its serving table's shape, with ``write`` =
    SERVING for those that pass the row rules and null for the rest. (Marking instead of filtering: a filter on the
    rules' outcome makes Spark evaluate them again, ~4x the batch's cost.)"""
    checked = violations(typed(parse_payload(bronze, contract), contract), contract)
    marked = checked.withColumn("write", F.when(F.size("violations") == 0, F.lit(int(Write.SERVING))))
    return serving_columns(marked, contract, ("write",))


def fresh_rows(bronze: DataFrame, contract: Contract) -> DataFrame:
    """Returns what the sink writes of ``contract``'s rows: the bound columns of its serving tables, the entity,
    ``produced_ms`` and ``write_timestamp`` (null for a row that failed its rules: the sink skips it)."""
    rows = servable(bronze, contract)
    stamp = F.when(F.col("write").isNotNull(), write_timestamp(F.col("clock"), Write.SERVING))
    bound = dict.fromkeys(n for t in TABLES_OF_ENTITY[contract.entity] for n in t.bound_columns)
    return rows.select(
        "entity",
        *(F.timestamp_millis("produced_ms").alias(n) if n == PRODUCED_AT else F.col(n) for n in bound),
        "produced_ms",
        stamp.alias("write_timestamp"),
    )


def sink_config(
    cassandra: CassandraTarget,
    datacenter: str,
    query_name: str = SERVING_QUERY,
    *,
    batch_rows: int = 40,
    max_in_flight: int = 64,
    flush_ms: int = 5,
    progress_s: float = 5.0,
) -> str:
    """Returns the sink's configuration (JSON): where it writes, each entity's tables (insert, bound columns and
    partition key of each), and its limits (rows per unlogged batch, requests in flight per task, the longest a row
    waits to be sent, how often a task records its freshness)."""
    keyspace = cassandra.keyspace
    return json.dumps(
        {
            "hosts": list(cassandra.hosts),
            "port": cassandra.port,
            "datacenter": datacenter,
            "keyspace": keyspace,
            "username": cassandra.username,
            "password": cassandra.password,
            "ca_file": cassandra.ca_file,
            "query": query_name,
            "progress_cql": f"{SERVING_PROGRESS.insert(keyspace)} USING TTL 86400",
            "batch_rows": batch_rows,
            "max_in_flight": max_in_flight,
            "flush_ms": flush_ms,
            "progress_s": progress_s,
            "entities": {
                entity: [
                    {
                        "insert": table.insert(keyspace, timestamped=True),
                        "columns": list(table.bound_columns),
                        "partition_key": list(table.partition_key),
                    }
                    for table in tables
                ]
                for entity, tables in TABLES_OF_ENTITY.items()
            },
        }
    )


def serving_mode(wanted: str, slots: int, kafka_partitions: int, spare: int = 1) -> tuple[str, str]:
    """Returns the mode the serving query runs in, given the one ``wanted`` and the application's task ``slots``,
    and why: real-time mode keeps a task on every Kafka partition for as long as a batch lasts, so it needs that
    many slots and ``spare`` more for the application's other work (the silver stream); with fewer it runs
    micro-batches."""
    if wanted == MICRO_BATCH:
        return MICRO_BATCH, "micro-batches, as configured (serving_mode)"
    if slots < kafka_partitions + spare:
        return MICRO_BATCH, (
            f"micro-batches: real-time mode needs a task slot per Kafka partition ({kafka_partitions}) and"
            f" {spare} more, and the application has {slots} (start it with spark_session(live=True))"
        )
    return REAL_TIME, f"real-time mode, a task on each of the {kafka_partitions} Kafka partitions"


def task_slots(spark: SparkSession, wanted: int, wait_s: float = 60.0) -> int:
    """Returns the task slots the application holds: the cores of its registered executors on a cluster (waiting up
    to ``wait_s`` for ``wanted`` of them: executors register after the session starts, and a busy cluster may grant
    fewer than asked), its threads in local mode."""
    ends = time.monotonic() + wait_s
    while (slots := spark.sparkContext.defaultParallelism) < wanted and time.monotonic() < ends:
        time.sleep(0.5)
    return slots


def start_serving_stream(
    spark: SparkSession,
    *,
    bootstrap_servers: str,
    checkpoint: str,
    config: str,
    kafka_partitions: int,
    spare_slots: int = 1,
    topic_prefix: str = "",
    mode: str = REAL_TIME,
    real_time_batch_s: int = 300,
    max_offsets_per_trigger: int | None = None,
    query_name: str = SERVING_QUERY,
    kafka_options: Mapping[str, str] | None = None,
) -> StreamingQuery:
    """Starts the serving query in ``mode`` (real-time, falling back to micro-batches where the application lacks
    the slots for it and ``spare_slots`` more; see ``serving_mode``); a real-time batch lasts ``real_time_batch_s``
    (its offsets are checkpointed at its end)."""
    slots = task_slots(spark, kafka_partitions + spare_slots) if mode == REAL_TIME else 0
    mode, why = serving_mode(mode, slots, kafka_partitions, spare_slots)
    log.warning("serving query %s: %s", query_name, why)
    # One Kafka source per entity topic, so each record is read once (a filter on one source's entity would read
    # every topic once per entity). Real-time mode reads without a per-trigger bound.
    bound = None if mode == REAL_TIME else max_offsets_per_trigger
    frames = []
    for contract in CONTRACTS.values():
        source = kafka_source(spark, bootstrap_servers, topic_prefix, bound, (contract,), kafka_options)
        bronze = kafka_to_bronze(source, topic_prefix).withColumn("batch_id", F.lit(None).cast("string"))
        frames.append(fresh_rows(bronze, contract))
    writer = (
        reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
        .writeStream.queryName(query_name)
        .option("checkpointLocation", checkpoint)
    )
    # pyspark's foreach wraps a Python function; the JVM writer goes on the JVM side of the stream writer.
    jvm = spark.sparkContext._jvm
    writer._jwrite = writer._jwrite.foreach(jvm.retail.serving.CassandraSink(config))
    if mode == REAL_TIME:  # which takes the update output mode only (the same as append for a stateless query)
        return writer.outputMode("update").trigger(realTime=f"{real_time_batch_s} seconds").start()
    return writer.trigger(processingTime="0 seconds").start()
