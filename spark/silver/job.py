"""Silver IO: one bronze batch becomes silver Parquet, quarantine rows and per-batch counts, in one pass.

Outcome of every bronze row, in this order: a row that breaks a row rule is quarantined with every rule it broke; a
second occurrence of an event id with another payload is quarantined as ``conflicting_duplicate``; an exact re-send
is removed and counted; a purchase whose customer silver has never seen is quarantined as ``unknown_customer``;
everything else is silver, once the batch passes its pandera gate. Late events (older than silver's newest
event time minus the allowed lateness) are real events: they go to silver flagged ``is_late``, and are counted.
Far-future events break a row rule and never move the lateness watermark. Outputs are keyed by batch id, so a
replayed batch replaces itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pyspark.sql.functions as F
from pyspark.sql import DataFrame, SparkSession

from retail.cassandra import SALES_PER_MINUTE, TABLE_OF_ENTITY, CassandraTarget, write_rows
from retail.contracts import CLICKSTREAM, CUSTOMERS, PURCHASES, Contract
from spark.silver.quality import gate
from spark.silver.transforms import LINEAGE, classify_duplicates, clean, parse_payload, typed, violations

ALLOWED_LATENESS = "INTERVAL 2 DAYS"
OUTCOMES = ("silver", "quarantined", "duplicate")


@dataclass(frozen=True)
class SilverTargets:
    """Where silver goes: ``silver/<entity>``, ``quarantine/entity=``, ``_audit/batch_counts/entity=``, and the
    Cassandra keyspace of the real-time tables (None: no Cassandra)."""

    silver_root: str
    quarantine_root: str
    counts_root: str
    cassandra: CassandraTarget | None = None

    def silver(self, entity: str) -> str:
        return f"{self.silver_root}/{entity}"


def _exists(spark: SparkSession, path: str) -> bool:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(hadoop_path)


def _silver_before(spark: SparkSession, targets: SilverTargets, entity: str, batch_id: str) -> DataFrame | None:
    """Silver rows of every other batch: what this batch's events are judged against."""
    if not _exists(spark, targets.silver(entity)):
        return None
    return spark.read.parquet(targets.silver(entity)).where(F.col("batch_id").cast("string") != batch_id)


def _write(frame: DataFrame, path: str, partitions: tuple[str, ...]) -> None:
    frame.write.mode("overwrite").option("partitionOverwriteMode", "dynamic").partitionBy(*partitions).parquet(path)


def judge(rows: DataFrame, seen: DataFrame, known_customers: DataFrame | None) -> DataFrame:
    """Adds ``reasons`` (every rule broken, empty when none) and ``outcome`` (silver, quarantined or duplicate)."""
    judged = classify_duplicates(rows, seen)
    reasons = F.col("violations")
    reasons = F.when(
        (F.size(reasons) == 0) & (F.col("duplicate") == "conflicting"), F.array(F.lit("conflicting_duplicate"))
    ).otherwise(reasons)
    if known_customers is not None:
        judged = judged.join(
            known_customers.select("customer_id", F.lit(True).alias("_known")).distinct(), "customer_id", "left"
        )
        unknown = (F.size(reasons) == 0) & F.col("duplicate").isNull() & F.col("_known").isNull()
        reasons = F.when(unknown, F.array(F.lit("unknown_customer"))).otherwise(reasons)
    return judged.withColumn("reasons", reasons).withColumn(
        "outcome",
        F.when(F.size("reasons") > 0, "quarantined")
        .when(F.col("duplicate") == "exact", "duplicate")
        .otherwise("silver"),
    )


def process_entity(spark: SparkSession, bronze: DataFrame, batch_id: str, contract: Contract,
                   targets: SilverTargets) -> dict[str, int]:  # fmt: skip
    """Routes one entity's rows of a bronze batch; returns the batch's counts (bronze_in, silver, quarantined,
    duplicate, late)."""
    rows = violations(typed(parse_payload(bronze, contract), contract), contract)
    earlier = _silver_before(spark, targets, contract.entity, batch_id)
    seen = earlier.select("event_id", "payload_hash") if earlier is not None else rows.sparkSession.createDataFrame(
        [], "event_id string, payload_hash string")  # fmt: skip
    known = None
    if contract is PURCHASES:
        customers = targets.silver(CUSTOMERS.entity)
        known = spark.read.parquet(customers).select("customer_id") if _exists(spark, customers) else seen.select(
            F.col("event_id").alias("customer_id")).limit(0)  # fmt: skip
    judged = judge(rows, seen, known).persist()
    try:
        watermark = None
        if earlier is not None:
            watermark = earlier.agg(F.max(contract.event_time)).first()[0]
        is_late = (
            F.col(contract.event_time) < F.lit(watermark) - F.expr(ALLOWED_LATENESS) if watermark else F.lit(False)
        )
        silver = clean(judged.where(F.col("outcome") == "silver"), contract).withColumn("is_late", is_late)
        gate(silver, contract)  # raises before anything of this batch is written
        quarantine = judged.where(F.col("outcome") == "quarantined").select(
            F.lit(contract.entity).alias("entity"), "event_id", "reasons", "payload", *LINEAGE
        )
        _write(silver, targets.silver(contract.entity), ("event_date", "batch_id"))
        _write(quarantine, targets.quarantine_root, ("entity", "batch_id"))
        if targets.cassandra is not None:
            this_batch = spark.read.parquet(targets.silver(contract.entity)).where(
                F.col("batch_id").cast("string") == batch_id
            )
            this_batch.foreachPartition(
                partial(write_rows, target=targets.cassandra, table=TABLE_OF_ENTITY[contract.entity])
            )
            if contract is PURCHASES:
                _write_sales_per_minute(spark, targets, this_batch)
        by_outcome = {r["outcome"]: r["n"] for r in judged.groupBy("outcome").agg(F.count("*").alias("n")).collect()}
        counts = {"bronze_in": sum(by_outcome.values()), **{o: by_outcome.get(o, 0) for o in OUTCOMES}}
        counts["late"] = silver.where("is_late").count() if watermark else 0
        return counts
    finally:
        judged.unpersist()


def _write_sales_per_minute(spark: SparkSession, targets: SilverTargets, batch_purchases: DataFrame) -> None:
    """Recomputes, from all of silver, the totals of every minute this batch touched, and upserts them: the same
    totals however often a batch is replayed."""
    minute = F.date_trunc("minute", F.col("purchase_date")).alias("minute")
    touched = batch_purchases.select(minute).distinct()
    totals = (
        spark.read.parquet(targets.silver(PURCHASES.entity))
        .withColumn("minute", F.date_trunc("minute", F.col("purchase_date")))
        .join(touched, on="minute", how="inner")
        .groupBy("minute")
        .agg(
            F.sum("total_amount").alias("revenue"),
            F.count("*").cast("int").alias("orders"),
            F.sum("quantity").cast("int").alias("units"),
        )
        .select(F.to_date("minute").alias("sale_date"), "minute", "revenue", "orders", "units")
    )
    totals.foreachPartition(partial(write_rows, target=targets.cassandra, table=SALES_PER_MINUTE))


def process_batch(spark: SparkSession, bronze: DataFrame, batch_id: str, targets: SilverTargets) -> None:
    """Routes every entity of one bronze batch (customers first: purchases are checked against them) and records
    the counts; bronze_in = silver + quarantined + duplicate for every entity, or the batch fails loudly."""
    rows = []
    for contract in (CUSTOMERS, PURCHASES, CLICKSTREAM):
        counts = process_entity(spark, bronze, batch_id, contract, targets)
        if counts["bronze_in"] != sum(counts[o] for o in OUTCOMES):
            raise RuntimeError(f"batch {batch_id} {contract.entity}: counts do not add up: {counts}")
        rows.append((contract.entity, batch_id, *(counts[k] for k in ("bronze_in", *OUTCOMES, "late"))))
    counts_frame = spark.createDataFrame(
        rows, "entity string, batch_id string, bronze_in long, silver long, quarantined long, duplicate long, late long"
    ).withColumn("recorded_at", F.current_timestamp())
    _write(counts_frame, targets.counts_root, ("entity", "batch_id"))
