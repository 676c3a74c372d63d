"""What silver says of itself, for reports: data quality per entity and freshness per table. Reads only."""

from __future__ import annotations

from datetime import UTC, datetime

import pyspark.sql.functions as F
from pyspark.sql import SparkSession

from retail.contracts import CONTRACTS
from retail.lake import BATCH_COUNTS, QUARANTINE
from spark.hdfs import Lake
from spark.silver.job import COUNTS, SilverTargets, outstanding_quarantine


def quality(spark: SparkSession, targets: SilverTargets) -> list[dict[str, object]]:
    """Returns one row per entity: the recorded counts summed over every batch (bronze in, silver, quarantined,
    duplicates removed, late, released) and the rows in quarantine now, per rule."""
    totals: dict[str, dict[str, int]] = {e: dict.fromkeys(COUNTS, 0) for e in CONTRACTS}
    if Lake(spark).exists(targets.lake.path(BATCH_COUNTS)):
        sums = (
            spark.read.parquet(targets.lake.path(BATCH_COUNTS))
            .groupBy("entity")
            .agg(*(F.sum(c).alias(c) for c in COUNTS))
        )
        for row in sums.collect():
            totals[row["entity"]] = {c: int(row[c] or 0) for c in COUNTS}
    rules: dict[str, dict[str, int]] = {e: {} for e in CONTRACTS}
    if Lake(spark).exists(targets.lake.path(QUARANTINE)):
        by_rule = (
            outstanding_quarantine(spark, targets)
            .select("entity", F.explode("reasons").alias("rule"))
            .groupBy("entity", "rule")
            .count()
        )
        for row in by_rule.collect():
            rules[row["entity"]][row["rule"]] = row["count"]
    return [
        {"entity": e, **totals[e], "quarantine_by_rule": ", ".join(f"{r} {n}" for r, n in sorted(rules[e].items()))}
        for e in CONTRACTS
    ]


def freshness(spark: SparkSession, targets: SilverTargets) -> list[dict[str, object]]:
    """Returns one row per silver table: its newest event time and how far that is behind now (seconds)."""
    now = datetime.now(UTC)
    rows = []
    for entity, contract in CONTRACTS.items():
        newest = None
        if Lake(spark).exists(targets.silver(entity)):
            newest = spark.read.parquet(targets.silver(entity)).agg(F.max(contract.event_time)).first()[0]
        if newest is not None and newest.tzinfo is None:
            newest = newest.replace(tzinfo=UTC)
        rows.append(
            {
                "table": f"silver.{entity}",
                "newest_event": newest.isoformat() if newest else None,
                "behind_seconds": round((now - newest).total_seconds()) if newest else None,
            }
        )
    return rows
