"""Bronze IO: Kafka records and CSV batch files land in bronze Parquet on HDFS (``spark.ingest`` starts the queries
and routes on to silver). It takes explicit arguments and never reads the environment.

Idempotence: every output is keyed by a batch id (a micro-batch's id, or a CSV file's content hash) and written
with dynamic partition overwrite, so a replayed micro-batch or a re-ingested file replaces itself, never adds rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyspark.sql.functions as F
from pyspark.sql import DataFrame, SparkSession

from retail.contracts import CONTRACTS, Contract
from retail.lake import BRONZE_KAFKA
from spark.bronze.csv_header import RFC4180, CsvDialect, CsvFileError, read_header
from spark.bronze.csv_rows import UnbalancedQuoteError, logical_rows
from spark.bronze.transforms import BLANK_LINE, csv_lines_to_bronze
from spark.hdfs import Lake, replace_partitions


def write_batch(batch: DataFrame, batch_id: str | int, root: str, lake: Lake | None = None) -> None:
    """Writes one batch under ``root`` (a bronze dataset's folder: Kafka's and CSV's are partitioned alike),
    replacing whatever an earlier attempt of the same batch id wrote. With ``lake``, the batch comes to the driver
    and the driver writes it (``Lake.write_partitions``: for a batch of at most ``DRIVER_ROWS``)."""
    batch = batch.withColumn("batch_id", F.lit(str(batch_id)))
    if lake is not None:
        lake.write_partitions(batch.toArrow(), root, BRONZE_KAFKA.partitions)
    else:
        replace_partitions(batch, root, BRONZE_KAFKA.partitions)


def kafka_source(
    spark: SparkSession,
    bootstrap_servers: str,
    topic_prefix: str = "",
    max_offsets_per_trigger: int | None = None,
    contracts: Iterable[Contract] = CONTRACTS.values(),
    options: Mapping[str, str] | None = None,
) -> DataFrame:
    """Returns the stream of the entity topics of ``contracts`` (default: every entity) from the earliest offset
    (Kafka's own columns); ``options``: the client's security (``kafka.security.protocol``, ...)."""
    topics = ",".join(topic_prefix + c.topic for c in contracts)
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap_servers)
        .option("subscribe", topics)
        .option("startingOffsets", "earliest")
        .option("includeHeaders", "false")
        .options(**(options or {}))
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()


@dataclass(frozen=True)
class CsvIngestReport:
    """What one CSV file gave: rows landed in bronze (blank lines not counted), how many of them could not be
    parsed, by reason, and the blank lines (kept in bronze, skipped by silver)."""

    source: str
    entity: str
    batch_id: str
    rows: int
    parse_errors: dict[str, int]
    already_ingested: bool = False
    blank_lines: int = 0
    silver: dict[str, dict[str, int]] | None = None  # silver counts by entity, when the file went through silver

    @property
    def parsed(self) -> int:
        """Rows that could be split into the contract's columns."""
        return self.rows - sum(self.parse_errors.values())


def file_batch_id(path: Path) -> str:
    """Returns the batch id of a file: a hash of its content, so the same file always gets the same id."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return f"csv-{digest.hexdigest()[:20]}"


def land_csv(
    spark: SparkSession,
    source: Path,
    entity: str,
    *,
    landing_root: str,
    bronze_root: str,
    dialect: CsvDialect = RFC4180,
) -> CsvIngestReport:
    """Copies a local CSV file to the HDFS landing folder and lands every data row in bronze (parsed or not), its
    columns matched to the contract by the header's names, rows as RFC 4180 reads them (a quoted field may span
    lines; the row is numbered by its first); returns the counts. A file already in bronze (same content) is left
    alone; a header that does not fit the contract, or a quote never closed, raises CsvFileError and lands
    nothing."""
    if entity not in CONTRACTS:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(CONTRACTS)}")
    header = read_header(source, CONTRACTS[entity], dialect)  # raises CsvHeaderError before anything lands
    batch_id = file_batch_id(source)
    lake = Lake(spark)
    batch_glob = f"{bronze_root}/entity={entity}/ingest_date=*/batch_id={batch_id}"
    if lake.glob(batch_glob):
        existing = spark.read.parquet(bronze_root).where((F.col("entity") == entity) & (F.col("batch_id") == batch_id))
        return _report(existing, str(source), entity, batch_id, already_ingested=True)
    landed = f"{landing_root}/{entity}/{batch_id}/{source.name}"
    lake.put(source, landed)
    try:
        rows = logical_rows(spark, landed, dialect)
    except UnbalancedQuoteError as unbalanced:
        raise CsvFileError(source, entity, str(unbalanced)) from None
    write_batch(csv_lines_to_bronze(rows, CONTRACTS[entity], str(source), header, dialect), batch_id, bronze_root)
    if not lake.glob(batch_glob):  # a file without data lines writes no partition at all
        return CsvIngestReport(str(source), entity, batch_id, 0, {})
    written = spark.read.parquet(bronze_root).where((F.col("entity") == entity) & (F.col("batch_id") == batch_id))
    return _report(written, str(source), entity, batch_id)


def _report(
    rows: DataFrame, source: str, entity: str, batch_id: str, already_ingested: bool = False
) -> CsvIngestReport:
    counts = {r["parse_error"]: r["n"] for r in rows.groupBy("parse_error").agg(F.count("*").alias("n")).collect()}
    blank = counts.pop(BLANK_LINE, 0)
    errors = {k: v for k, v in counts.items() if k is not None}
    return CsvIngestReport(source, entity, batch_id, sum(counts.values()), errors, already_ingested, blank)
