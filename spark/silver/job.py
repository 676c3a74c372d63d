"""Silver IO: one bronze batch becomes silver Parquet, quarantine rows and per-batch counts, in one pass.

Outcome of every bronze row, in this order: a row that breaks a row rule is quarantined with every rule it broke; a
second occurrence of an event id with other content is quarantined as ``conflicting_duplicate``; an exact re-send
is removed and counted; a purchase whose customer silver has not seen is quarantined as ``unknown_customer``;
everything else is silver, once the batch passes its pandera gate. Late events (older than silver's newest
event time minus the allowed lateness) are real events: they go to silver flagged ``is_late``, and are counted.
Far-future events break a row rule and never move the lateness watermark. Outputs are keyed by batch id, so a
replayed batch replaces itself.

Unknown customers are a matter of arrival order as often as of bad data: topics are read at different speeds, and a
CSV file of purchases may come before the customers' file. So ``unknown_customer`` is the one reason that is retried:
every batch re-judges the purchases quarantined for it alone, and those whose customer has arrived are released into
silver with the batch (recorded under ``_audit/released``). The rest stay in quarantine, retried again next batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pyspark.sql.functions as F
from pyspark.sql import DataFrame, SparkSession

from retail.cassandra import SALES_PER_MINUTE, TABLE_OF_ENTITY, CassandraTarget, write_rows
from retail.contracts import CLICKSTREAM, CONTRACTS, CUSTOMERS, PURCHASES, Contract
from spark.silver.quality import gate
from spark.silver.transforms import LINEAGE, classify_duplicates, clean, parse_payload, typed, violations

ALLOWED_LATENESS = "INTERVAL 2 DAYS"
OUTCOMES = ("silver", "quarantined", "duplicate")
COUNTS = ("bronze_in", "released", *OUTCOMES, "late")
RETRIED_REASON = "unknown_customer"
ROW_KEY = ("topic", "partition", "offset")  # where a row came from: unique over bronze
RELEASED = "entity string, event_id string, topic string, partition int, offset long, outcome string, batch_id string"


@dataclass(frozen=True)
class SilverTargets:
    """Where silver goes: ``silver/<entity>``, ``quarantine/entity=``, ``_audit/batch_counts/entity=``,
    ``_audit/released/entity=``, and the Cassandra keyspace of the real-time tables (None: no Cassandra)."""

    silver_root: str
    quarantine_root: str
    counts_root: str
    released_root: str
    cassandra: CassandraTarget | None = None

    @classmethod
    def under(cls, lake: str, cassandra: CassandraTarget | None = None) -> SilverTargets:
        """Returns the targets under one lake root (``hdfs://.../retail``)."""
        audit = f"{lake}/_audit"
        return cls(f"{lake}/silver", f"{lake}/quarantine", f"{audit}/batch_counts", f"{audit}/released", cassandra)

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
    """Routes one entity's rows of a bronze batch (plus, for purchases, those waiting for their customer); returns
    the batch's counts: bronze_in + released = silver + quarantined + duplicate, and late."""
    rows = _checked(bronze, contract).withColumn("retried", F.lit(False))
    earlier = _silver_before(spark, targets, contract.entity, batch_id)
    seen = earlier.select("event_id", "payload_hash") if earlier is not None else rows.sparkSession.createDataFrame(
        [], "event_id string, payload_hash string")  # fmt: skip
    known = None
    if contract is PURCHASES:
        waiting = _waiting_for_customer(spark, targets, batch_id)
        if waiting is not None:
            rows = rows.unionByName(_checked(waiting, contract).withColumn("retried", F.lit(True)))
        customers = targets.silver(CUSTOMERS.entity)
        known = spark.read.parquet(customers).select("customer_id") if _exists(spark, customers) else seen.select(
            F.col("event_id").alias("customer_id")).limit(0)  # fmt: skip
    judged = judge(rows, seen, known)
    # A retried row that is still unknown stays where it is, in its own batch's quarantine.
    still_waiting = F.col("retried") & (F.col("outcome") == "quarantined")
    watermark = earlier.agg(F.max(contract.event_time)).first()[0] if earlier is not None else None
    is_late = F.col(contract.event_time) < F.lit(watermark) - F.expr(ALLOWED_LATENESS) if watermark else F.lit(False)
    judged = judged.select(
        "*",
        F.when(still_waiting, "waiting").otherwise(F.col("outcome")).alias("_outcome"),
        (is_late & (F.col("outcome") == "silver")).alias("is_late"),
    )
    judged = judged.drop("outcome").withColumnRenamed("_outcome", "outcome").persist()
    try:
        tally = judged.groupBy("retried", "outcome", "is_late").agg(F.count("*").alias("n")).collect()
        counts = {
            "bronze_in": sum(r["n"] for r in tally if not r["retried"]),
            "released": sum(r["n"] for r in tally if r["retried"] and r["outcome"] != "waiting"),
            **{o: sum(r["n"] for r in tally if r["outcome"] == o) for o in OUTCOMES},
            "late": sum(r["n"] for r in tally if r["is_late"]),
        }
        silver = clean(judged.where(F.col("outcome") == "silver"), contract)
        quarantine = judged.where(F.col("outcome") == "quarantined").select(
            F.lit(contract.entity).alias("entity"), "event_id", "reasons", "payload", *LINEAGE
        )
        released = judged.where(F.col("retried") & (F.col("outcome") != "waiting")).select(
            F.lit(contract.entity).alias("entity"), "event_id", *ROW_KEY, "outcome", F.lit(batch_id).alias("batch_id")
        )
        # Empty outputs are not written: a folder without files has no schema for the next reader to find.
        if counts["silver"]:
            gate(silver, contract)  # raises before anything of this batch is written
            _write(silver, targets.silver(contract.entity), ("event_date", "batch_id"))
        if counts["quarantined"]:
            _write(quarantine, targets.quarantine_root, ("entity", "batch_id"))
        if counts["released"]:
            _write(released, targets.released_root, ("entity", "batch_id"))
        if targets.cassandra is not None and counts["silver"]:
            silver.foreachPartition(
                partial(write_rows, target=targets.cassandra, table=TABLE_OF_ENTITY[contract.entity])
            )
            if contract is PURCHASES:
                _write_sales_per_minute(spark, targets, silver)
        return counts
    finally:
        judged.unpersist()


def _checked(bronze: DataFrame, contract: Contract) -> DataFrame:
    return violations(typed(parse_payload(bronze, contract), contract), contract)


def _waiting_for_customer(spark: SparkSession, targets: SilverTargets, batch_id: str) -> DataFrame | None:
    """Returns, shaped as bronze rows of this batch, the purchases other batches quarantined for an unknown
    customer alone and that no batch has released yet."""
    if not _exists(spark, f"{targets.quarantine_root}/entity={PURCHASES.entity}"):
        return None
    other_batch = F.col("batch_id").cast("string") != batch_id
    waiting = spark.read.parquet(targets.quarantine_root).where(
        (F.col("entity") == PURCHASES.entity) & other_batch & (F.col("reasons") == F.array(F.lit(RETRIED_REASON)))
    )
    if _exists(spark, f"{targets.released_root}/entity={PURCHASES.entity}"):
        released = _released(spark, targets).where((F.col("entity") == PURCHASES.entity) & other_batch)
        waiting = waiting.join(released.select(*ROW_KEY), on=list(ROW_KEY), how="left_anti")
    return waiting.select(
        "entity",
        F.col("payload").cast("binary").alias("value"),
        *(F.col(c) for c in LINEAGE if c != "batch_id"),
        F.lit(batch_id).alias("batch_id"),
    )


def _released(spark: SparkSession, targets: SilverTargets) -> DataFrame:
    # Stated schema: a root whose batches released nothing holds no file to infer one from.
    return spark.read.schema(RELEASED).parquet(targets.released_root)


def outstanding_quarantine(spark: SparkSession, targets: SilverTargets) -> DataFrame:
    """Returns the quarantine as it stands: one row per rejected bronze row that no later batch released."""
    quarantine = spark.read.parquet(targets.quarantine_root)
    if not _exists(spark, targets.released_root):
        return quarantine
    released = _released(spark, targets).select("entity", *ROW_KEY)
    return quarantine.join(released, on=["entity", *ROW_KEY], how="left_anti")


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


def process_batch(spark: SparkSession, bronze: DataFrame, batch_id: str, targets: SilverTargets,
                  entities: tuple[str, ...] = tuple(CONTRACTS)) -> dict[str, dict[str, int]]:  # fmt: skip
    """Routes every entity of one bronze batch (customers first: purchases are checked against them), records the
    counts and returns them by entity; bronze_in + released = silver + quarantined + duplicate for every entity, or
    the batch fails loudly. A batch of customers also retries the purchases waiting for a customer."""
    wanted = set(entities) | ({PURCHASES.entity} if CUSTOMERS.entity in entities else set())
    recorded = {}
    for contract in (CUSTOMERS, PURCHASES, CLICKSTREAM):
        if contract.entity not in wanted:
            continue
        counts = process_entity(spark, bronze, batch_id, contract, targets)
        if counts["bronze_in"] + counts["released"] != sum(counts[o] for o in OUTCOMES):
            raise RuntimeError(f"batch {batch_id} {contract.entity}: counts do not add up: {counts}")
        recorded[contract.entity] = counts
    counts_frame = spark.createDataFrame(
        [(entity, batch_id, *(c[k] for k in COUNTS)) for entity, c in recorded.items()],
        "entity string, batch_id string, " + ", ".join(f"{k} long" for k in COUNTS),
    ).withColumn("recorded_at", F.current_timestamp())
    _write(counts_frame, targets.counts_root, ("entity", "batch_id"))
    return recorded


def recorded_counts(spark: SparkSession, targets: SilverTargets, batch_id: str) -> dict[str, dict[str, int]]:
    """Returns the counts recorded for one batch, by entity (empty when the batch never finished silver)."""
    if not _exists(spark, targets.counts_root):
        return {}
    rows = spark.read.parquet(targets.counts_root).where(F.col("batch_id").cast("string") == batch_id).collect()
    return {r["entity"]: {k: r[k] for k in COUNTS} for r in rows}
