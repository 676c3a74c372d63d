"""Bronze transforms: raw records plus lineage, nothing parsed away. Pure DataFrame -> DataFrame functions that work
on streaming and batch DataFrames alike."""

from __future__ import annotations

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame

from retail.contracts import CONTRACTS, Contract
from spark.bronze.csv_header import RFC4180, CsvDialect, Header

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
BLANK_LINE = "blank_line"  # kept in bronze as it was read; not a record, so silver skips it


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
    return ", ".join([*(f"`{_quoted(name)}` string" for name in names), f"`{CORRUPT_COLUMN}` string"])


def _quoted(name: str) -> str:
    return name.replace("`", "``")


def csv_lines_to_bronze(
    rows: DataFrame,
    contract: Contract,
    source_file: str,
    header: Header | None = None,
    dialect: CsvDialect = RFC4180,
) -> DataFrame:
    """Returns one bronze row per data row of a CSV file (``rows`` has ``value`` and ``line_number``; line 1 is
    the header, which gives the file's column order, default the contract's): the contract's columns as raw strings
    (null for an optional column the file lacks), the columns the contract does not know (``extra``, a map; null
    when there are none), the raw row, its lineage and what kept it from parsing (``parse_error``: ragged_row,
    invalid_utf8 or blank_line; null when it parsed). Fields are read as RFC 4180 says, with the dialect's
    delimiter."""
    header = header or Header(contract.names)
    options = {
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": CORRUPT_COLUMN,
        "sep": dialect.delimiter,
        "quote": '"',
        "escape": '"',  # RFC 4180: a quote inside a quoted field is doubled
    }
    parsed = F.from_csv(F.col("value"), raw_schema(contract, header.columns), options)
    is_blank = F.trim(F.col("value")) == ""
    is_ragged = parsed[CORRUPT_COLUMN].isNotNull()
    is_bad_utf8 = ~F.is_valid_utf8(F.col("value"))
    extra = F.create_map(*(x for n in header.extra for x in (F.lit(n), parsed[n]))) if header.extra else None
    ingested_at = F.current_timestamp()
    return rows.where(F.col("line_number") > 1).select(
        F.lit(contract.entity).alias("entity"),
        *(
            (parsed[name] if name in header.columns else F.lit(None).cast("string")).alias(name)
            for name in contract.names
        ),
        (extra if extra is not None else F.lit(None).cast("map<string,string>")).alias("extra"),
        F.col("value").alias("raw_line"),
        F.lit(source_file).alias("source_file"),
        F.col("line_number"),
        F.when(is_blank, BLANK_LINE)
        .when(is_bad_utf8, "invalid_utf8")
        .when(is_ragged, "ragged_row")
        .alias("parse_error"),
        ingested_at.alias("ingested_at"),
        F.to_date(ingested_at).alias("ingest_date"),
    )
