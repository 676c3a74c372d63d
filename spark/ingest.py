"""Ingestion: Kafka micro-batches and CSV files through bronze and, when asked, on to silver. The one place where
the two layers meet: bronze (``spark.bronze.job``) knows nothing of silver.

Idempotence: every output is keyed by a batch id (a micro-batch's id, or a CSV file's content hash), so a replayed
micro-batch or a re-ingested file replaces itself, never adds rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path

import pyspark.sql.functions as F
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from retail.contracts import CONTRACTS
from spark.bronze.csv_header import RFC4180, CsvDialect
from spark.bronze.job import CsvIngestReport, kafka_source, land_csv, write_batch
from spark.bronze.transforms import kafka_to_bronze
from spark.concurrent import run_all
from spark.hdfs import DRIVER_ROWS, Lake, file_partitions
from spark.silver.job import SilverTargets, process_batch, recorded_counts
from spark.silver.transforms import csv_records


def start_kafka_stream(
    spark: SparkSession,
    *,
    bootstrap_servers: str,
    bronze_root: str,
    checkpoint: str,
    topic_prefix: str = "",
    trigger_seconds: float | None = 2.0,
    max_offsets_per_trigger: int | None = None,
    query_name: str = "bronze_kafka",
    silver: SilverTargets | None = None,
    kafka_options: Mapping[str, str] | None = None,
) -> StreamingQuery:
    """Starts the bronze stream over every entity topic; ``trigger_seconds=None`` runs availableNow (catch up on
    everything there is, then stop). With ``silver`` targets each micro-batch also goes through silver."""
    reader = kafka_source(spark, bootstrap_servers, topic_prefix, max_offsets_per_trigger, options=kafka_options)

    def land(batch: DataFrame, batch_id: int) -> None:
        spark.sparkContext.setLocalProperty("spark.scheduler.pool", query_name)  # fair beside a serving query
        key = batch_key(spark, batch_id)
        # One pass: the micro-batch is read from Kafka once (its size counted as it is cached) and feeds bronze and,
        # when asked, silver, in as few partitions as its size needs.
        cached = batch.persist()
        try:
            rows = cached.count()
            parts = file_partitions(rows, spark.sparkContext.defaultParallelism)
            batch = cached.coalesce(parts)
            on_driver = Lake(spark) if rows <= DRIVER_ROWS else None  # a small batch: no Spark job per output
            outputs = {f"bronze batch {key}": partial(write_batch, batch, key, bronze_root, on_driver)}
            if silver is not None:
                keyed = batch.withColumn("batch_id", F.lit(key))
                silver_batch = partial(process_batch, spark, keyed, key, silver, partitions=parts, rows=rows)
                outputs[f"silver batch {key}"] = silver_batch
            run_all(outputs)  # bronze and silver side by side: neither reads the other
        finally:
            cached.unpersist()

    writer = (
        kafka_to_bronze(reader, topic_prefix)
        .writeStream.queryName(query_name)
        .option("checkpointLocation", checkpoint)
        .foreachBatch(land)
    )
    if trigger_seconds is None:
        return writer.trigger(availableNow=True).start()
    return writer.trigger(processingTime=f"{trigger_seconds} seconds").start()


def batch_key(spark: SparkSession, batch_id: int) -> str:
    """Returns the name a micro-batch has in every output (its partitions, counts and state): the query's identity,
    which its checkpoint keeps across restarts and a new checkpoint renews, then the batch id. A replay gets the
    name of its first attempt; a reset checkpoint never names a batch as an earlier one did, so it never replaces
    what an earlier batch wrote. Called on the query's own thread (inside foreachBatch)."""
    query_id = spark.sparkContext.getLocalProperty("sql.streaming.queryId")
    if not query_id:
        raise RuntimeError("batch_key is for foreachBatch functions: no streaming query runs on this thread")
    return f"{query_id[:8]}-{batch_id}"


def ingest_csv(
    spark: SparkSession,
    source: Path,
    entity: str,
    *,
    landing_root: str,
    bronze_root: str,
    silver: SilverTargets | None = None,
    dialect: CsvDialect = RFC4180,
) -> CsvIngestReport:
    """Copies a local CSV file to the HDFS landing folder and lands every data line in bronze (parsed or not);
    returns the counts. A file already in bronze (same content) is left alone. With ``silver`` targets the file's
    bronze rows then go through silver too, keyed by the same batch id: running it again replaces, never adds."""
    report = land_csv(spark, source, entity, landing_root=landing_root, bronze_root=bronze_root, dialect=dialect)
    if silver is None or report.rows == 0:
        return report
    # The batch's counts are silver's last write: once they are there, the file went through silver already.
    if report.already_ingested and (done := recorded_counts(spark, silver, report.batch_id)):
        return replace(report, silver=done)
    # Each entity's CSV rows have their own columns: read that entity's folder, not a schema picked from another.
    bronze = (
        spark.read.option("basePath", bronze_root)
        .parquet(f"{bronze_root}/entity={entity}")
        .where(F.col("batch_id") == report.batch_id)
    )
    records = csv_records(bronze, CONTRACTS[entity])
    counts = process_batch(spark, records, report.batch_id, silver, (entity,), rows=report.rows)
    return replace(report, silver=counts)
