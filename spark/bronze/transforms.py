"""Bronze transforms: raw records plus lineage, nothing parsed away. Pure DataFrame -> DataFrame functions that work
on streaming and batch DataFrames alike."""

from __future__ import annotations

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame

from retail.contracts import CONTRACTS, Contract

KAFKA_BRONZE_COLUMNS = (
    "entity",
    "key",
    "value",
    "topic",
    "partition",
    "offset",
    "kafka_timestamp",
    "ingested_at",
    "ingest_date",
)
CORRUPT_COLUMN = "_corrupt_record"


def entity_of_topic(topic: Column, prefix: str = "") -> Column:
    """Returns the entity whose contract names ``topic`` (null for a topic no contract names)."""
    branches = None
    for contract in CONTRACTS.values():
        branches = (F.when if branches is None else branches.when)(topic == prefix + contract.topic, contract.entity)
    return branches


def kafka_to_bronze(records: DataFrame, topic_prefix: str = "") -> DataFrame:
    """Returns one bronze row per Kafka record: raw key and value bytes, topic/partition/offset lineage, the Kafka
    timestamp and ``ingested_at``. In a streaming query ``current_timestamp()`` is the micro-batch's timestamp, which
    Spark keeps in its offset log, so a replayed batch gets the same ``ingested_at`` and lands in the same place."""
    ingested_at = F.current_timestamp()
    return records.select(
        entity_of_topic(F.col("topic"), topic_prefix).alias("entity"),
        F.col("key"),
        F.col("value"),
        F.col("topic"),
        F.col("partition"),
        F.col("offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        ingested_at.alias("ingested_at"),
        F.to_date(ingested_at).alias("ingest_date"),
    )


def raw_schema(contract: Contract, columns: tuple[str, ...] | None = None) -> str:
    """Returns the DDL of a contract's record with every field (or ``columns``, in that order) read as a raw string,
    plus the corrupt-record column (for CSV lines here, and JSON payloads in silver)."""
    names = contract.names if columns is None else columns
    return ", ".join([*(f"`{name}` string" for name in names), f"`{CORRUPT_COLUMN}` string"])


def csv_lines_to_bronze(
    lines: DataFrame, contract: Contract, source_file: str, columns: tuple[str, ...] | None = None
) -> DataFrame:
    """Returns one bronze row per data line of a CSV file (``lines`` has ``value`` and ``line_number``; line 1 is
    the header, whose ``columns`` give the file's column order, default the contract's): the contract's columns as
    raw strings (null for an optional column the file lacks), the raw line, its lineage and what kept it from
    parsing (``parse_error``: ragged_row, invalid_utf8 or blank_line; null when it parsed)."""
    columns = contract.names if columns is None else columns
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}
    parsed = F.from_csv(F.col("value"), raw_schema(contract, columns), options)
    is_blank = F.trim(F.col("value")) == ""
    is_ragged = parsed[CORRUPT_COLUMN].isNotNull()
    is_bad_utf8 = ~F.is_valid_utf8(F.col("value"))
    ingested_at = F.current_timestamp()
    return lines.where(F.col("line_number") > 1).select(
        F.lit(contract.entity).alias("entity"),
        *((parsed[name] if name in columns else F.lit(None).cast("string")).alias(name) for name in contract.names),
        F.col("value").alias("raw_line"),
        F.lit(source_file).alias("source_file"),
        F.col("line_number"),
        F.when(is_blank, "blank_line")
        .when(is_bad_utf8, "invalid_utf8")
        .when(is_ragged, "ragged_row")
        .alias("parse_error"),
        ingested_at.alias("ingested_at"),
        F.to_date(ingested_at).alias("ingest_date"),
    )
