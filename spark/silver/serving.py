"""The serving query: every Kafka record that passes its entity's row rules reaches its Cassandra table within a
second, beside the exactly-once silver path (``spark.silver.job``) and independent of it.

It keeps no state and judges nothing across records: a duplicate is written again at the same inverted timestamp
(a no-op), a conflicting re-send loses to the first occurrence by timestamp, and what only the silver path can know
(a purchase that waits for its customer, a purchase released later) it corrects with deletes and re-inserts at
higher timestamps (``retail.cassandra.writer``). So Cassandra converges to silver whatever order the two write in,
and a replay of any of its batches rewrites the same cells.

Its checkpoint only says how far it has served; losing it replays from the earliest offset, which is harmless.
"""

from __future__ import annotations

from functools import partial, reduce

import pyspark.sql.functions as F
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from retail.cassandra import CassandraTarget, Write, write_events
from retail.contracts import CONTRACTS
from spark.bronze.job import kafka_source
from spark.bronze.transforms import kafka_to_bronze
from spark.silver.transforms import parse_payload, serving_columns, typed, violations

QUERY_NAME = "serving_cassandra"


def servable(bronze: DataFrame) -> DataFrame:
    """Returns the rows of a bronze batch that pass their entity's row rules, in the serving tables' shape (every
    entity in one frame, column ``write`` = SERVING)."""
    frames = []
    for contract in CONTRACTS.values():
        checked = violations(typed(parse_payload(bronze, contract), contract), contract)
        frames.append(serving_columns(checked.where(F.size("violations") == 0), contract))
    wide = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    return wide.withColumn("write", F.lit(int(Write.SERVING)))


def start_serving_stream(
    spark: SparkSession,
    *,
    bootstrap_servers: str,
    checkpoint: str,
    cassandra: CassandraTarget,
    topic_prefix: str = "",
    max_offsets_per_trigger: int | None = None,
    query_name: str = QUERY_NAME,
) -> StreamingQuery:
    """Starts the serving query: micro-batches back to back (no trigger interval), each written to Cassandra by
    the executors on their own long-lived sessions."""

    def serve(batch: DataFrame, _batch_id: int) -> None:
        servable(batch).foreachPartition(partial(write_events, target=cassandra))

    source = kafka_source(spark, bootstrap_servers, topic_prefix, max_offsets_per_trigger)
    return (
        kafka_to_bronze(source, topic_prefix)
        .withColumn("batch_id", F.lit(None).cast("string"))
        .writeStream.queryName(query_name)
        .option("checkpointLocation", checkpoint)
        .foreachBatch(serve)
        .trigger(processingTime="0 seconds")
        .start()
    )
