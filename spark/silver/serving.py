"""The serving query: every Kafka record that passes its entity's row rules goes to its Cassandra table as soon as
the query reads it, beside the exactly-once silver path (``spark.silver.job``) and independent of it.

It keeps no state and judges nothing across records: a duplicate is written again at the same inverted timestamp
(a no-op), a conflicting re-send loses to the first occurrence by timestamp, and what only the silver path can know
(a purchase that waits for its customer, a purchase released later) it corrects with deletes and re-inserts at
higher timestamps (``retail.cassandra.writer``). So Cassandra converges to silver whatever order the two write in,
and a replay of any of its batches rewrites the same cells.

Its checkpoint only says how far it has served; losing it replays from the earliest offset, which is harmless.
Each micro-batch records its freshness in ``serving_progress``: how long its rows took from their producer until
Cassandra acknowledged them (a latency histogram the executors' tasks return as they write).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial, reduce

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyspark.sql.functions as F
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from retail.cassandra import SERVING_PROGRESS, CassandraTarget, Write, session_for, write_events
from retail.contracts import CONTRACTS, Contract
from retail.lake import SERVING_QUERY
from spark.bronze.job import kafka_source
from spark.bronze.transforms import kafka_to_bronze
from spark.silver.transforms import parse_payload, serving_columns, typed, violations

BUCKET_S = 0.01  # latency histogram: 10 ms buckets up to a minute, then one overflow bucket
BUCKETS = 6001
WRITTEN = "bucket int, rows long"  # what each task reports: its rows per latency bucket


def quantile(histogram: np.ndarray, q: float) -> float:
    """Returns the upper edge (s) of the bucket holding quantile ``q`` of a latency histogram."""
    cumulative = np.cumsum(histogram)
    return float(np.searchsorted(cumulative, q * cumulative[-1]) + 1) * BUCKET_S


def _write_batches(batches, target: CassandraTarget):
    """Writes a task's Arrow batches and yields, per latency bucket, how many rows Cassandra acknowledged that long
    after their producer sent them."""
    for batch in batches:
        batch = batch.filter(pc.is_valid(batch.column("write")))
        if not batch.num_rows:
            continue
        write_events(batch.to_pylist(), target)
        produced = batch.column("produced_ms").to_numpy(zero_copy_only=False).astype(np.float64)
        seconds = (time.time() * 1000 - produced) / 1000
        counts = np.bincount(np.clip((seconds / BUCKET_S).astype(np.int64), 0, BUCKETS - 1), minlength=BUCKETS)
        buckets = np.flatnonzero(counts)
        yield pa.RecordBatch.from_arrays(
            [pa.array(buckets, pa.int32()), pa.array(counts[buckets], pa.int64())], names=["bucket", "rows"]
        )


def servable(bronze: DataFrame, contract: Contract) -> DataFrame:
    """Returns the rows of ``contract``'s entity in a bronze batch in its serving table's shape, with ``write`` =
    SERVING for those that pass the row rules and null for the rest, which the writer skips. (Marking instead of
    filtering: a filter on the rules' outcome makes Spark evaluate them again, ~4x the batch's cost.)"""
    checked = violations(typed(parse_payload(bronze, contract), contract), contract)
    marked = checked.withColumn("write", F.when(F.size("violations") == 0, F.lit(int(Write.SERVING))))
    return serving_columns(marked, contract, ("write",))


def start_serving_stream(
    spark: SparkSession,
    *,
    bootstrap_servers: str,
    checkpoint: str,
    cassandra: CassandraTarget,
    topic_prefix: str = "",
    max_offsets_per_trigger: int | None = None,
    query_name: str = SERVING_QUERY,
    kafka_options: Mapping[str, str] | None = None,
) -> StreamingQuery:
    """Starts the serving query: micro-batches back to back (no trigger interval), each written to Cassandra by
    the executors on their own long-lived sessions."""

    def serve(batch: DataFrame, batch_id: int) -> None:
        # Its own pool: under fair scheduling its short tasks go in between a long silver batch's, not after it.
        spark.sparkContext.setLocalProperty("spark.scheduler.pool", query_name)
        written = batch.mapInArrow(partial(_write_batches, target=cassandra), WRITTEN).collect()
        histogram = np.zeros(BUCKETS, dtype=np.int64)
        for row in written:
            histogram[row.bucket] += row.rows
        if histogram.sum():
            _record_progress(cassandra, query_name, batch_id, histogram)

    # The plan is built once, on the stream: a micro-batch only runs it. One Kafka source per entity topic, so each
    # record is read once (a filter on one source's entity would read every topic once per entity).
    frames = []
    for contract in CONTRACTS.values():
        source = kafka_source(
            spark, bootstrap_servers, topic_prefix, max_offsets_per_trigger, (contract,), kafka_options
        )
        bronze = kafka_to_bronze(source, topic_prefix).withColumn("batch_id", F.lit(None).cast("string"))
        frames.append(servable(bronze, contract))
    return (
        reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
        .writeStream.queryName(query_name)
        .option("checkpointLocation", checkpoint)
        .foreachBatch(serve)
        .trigger(processingTime="0 seconds")
        .start()
    )


def _record_progress(cassandra: CassandraTarget, query_name: str, batch_id: int, histogram: np.ndarray) -> None:
    session = session_for(cassandra)
    statement = session.prepare(f"{SERVING_PROGRESS.insert(cassandra.keyspace)} USING TTL 86400")
    slowest = np.flatnonzero(histogram)[-1] + 1
    figures = (quantile(histogram, 0.5), quantile(histogram, 0.95), float(slowest) * BUCKET_S)
    session.execute(statement, (query_name, batch_id, int(histogram.sum()), *figures))
