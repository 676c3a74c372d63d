"""The lake's datasets, each declared once: its folder under the lake root, its partition columns and, where fixed,
its schema. Writers (Spark), readers (dbt's sources, gold, the stream status, tests, benchmarks) and the layout all
take these declarations, never a path string, so a folder or a partition column changes in one place.

The same declarations serve any root: ``hdfs://host:port/retail`` for Spark, ``webhdfs://host:port/retail`` for
DuckDB and fsspec, a plain local folder for tests and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

from retail.contracts import CONTRACTS


@dataclass(frozen=True)
class Dataset:
    """One lake dataset: ``folder`` under the lake root, ``partitions`` (hive-style folders, outermost first) and
    ``schema`` (Spark DDL) where it is fixed; a dataset without partitions may hold any files (state, checkpoints)."""

    name: str
    folder: str
    partitions: tuple[str, ...] = ()
    schema: str | None = None


# The streaming queries over Kafka, each with a checkpoint of its own (named after the query). The bronze + silver
# stream keeps the name it always had, so a lake it ran on resumes where it stopped.
STREAM_QUERY = "bronze_kafka"
BRONZE_ONLY_QUERY = "bronze_only_kafka"
SERVING_QUERY = "serving_cassandra"  # the serving query's name, and its row in Cassandra's serving_progress
QUERIES = (STREAM_QUERY, BRONZE_ONLY_QUERY, SERVING_QUERY)

BATCH = ("entity", "batch_id")  # the audit datasets: one folder per entity and batch, replaced by a replay

BRONZE_KAFKA = Dataset("bronze_kafka", "bronze/kafka", ("entity", "ingest_date", "batch_id"))
BRONZE_CSV = Dataset("bronze_csv", "bronze/csv", ("entity", "ingest_date", "batch_id"))
LANDING_CSV = Dataset("landing_csv", "landing/csv")
SILVER = {entity: Dataset(f"silver_{entity}", f"silver/{entity}", ("event_date", "batch_id")) for entity in CONTRACTS}
QUARANTINE = Dataset("quarantine", "quarantine", BATCH)
RELEASED = Dataset(
    "released",
    "_audit/released",
    BATCH,
    "entity string, event_id string, topic string, partition int, offset long, outcome string, batch_id string",
)
BATCH_COUNTS = Dataset("batch_counts", "_audit/batch_counts", BATCH)
SILVER_STATE = Dataset("silver_state", "_state/silver")
CHECKPOINTS = {query: Dataset(f"checkpoint_{query}", f"_checkpoints/{query}") for query in QUERIES}

DATASETS = (
    BRONZE_KAFKA,
    BRONZE_CSV,
    LANDING_CSV,
    *SILVER.values(),
    QUARANTINE,
    RELEASED,
    BATCH_COUNTS,
    SILVER_STATE,
    *CHECKPOINTS.values(),
)


@dataclass(frozen=True)
class LakeLayout:
    """The datasets under one lake root (``hdfs://host:port/retail``, ``webhdfs://...``, or a local folder);
    ``Settings().lake()`` gives the configured one."""

    root: str

    def path(self, dataset: Dataset) -> str:
        """Returns the dataset's folder under this root."""
        return f"{self.root.rstrip('/')}/{dataset.folder}"

    def files(self, dataset: Dataset) -> str:
        """Returns the glob of the dataset's Parquet files: one ``*`` level per partition column."""
        return "/".join([self.path(dataset), *("*" for _ in dataset.partitions), "*.parquet"])

    def partition(self, dataset: Dataset, **values: str) -> str:
        """Returns the folder of one partition (the leading partition columns given by name, in order)."""
        names = dataset.partitions[: len(values)]
        if set(names) != set(values):
            raise ValueError(f"{dataset.name} is partitioned by {dataset.partitions}, not {tuple(values)}")
        return "/".join([self.path(dataset), *(f"{name}={values[name]}" for name in names)])

    @property
    def bronze_kafka(self) -> str:
        """Kafka records as they arrived."""
        return self.path(BRONZE_KAFKA)

    @property
    def bronze_csv(self) -> str:
        """CSV lines as they arrived."""
        return self.path(BRONZE_CSV)

    @property
    def landing_csv(self) -> str:
        """CSV files copied in before they land."""
        return self.path(LANDING_CSV)

    def silver(self, entity: str) -> str:
        """Returns one entity's silver table."""
        return self.path(SILVER[entity])

    @property
    def quarantine(self) -> str:
        """Rejected rows with every reason, by entity and batch."""
        return self.path(QUARANTINE)

    @property
    def batch_counts(self) -> str:
        """Every batch's counts by entity: its presence means the batch is done."""
        return self.path(BATCH_COUNTS)

    @property
    def released(self) -> str:
        """Purchases let out of quarantine once their customer came."""
        return self.path(RELEASED)

    @property
    def silver_state(self) -> str:
        """The silver state's deltas and snapshots."""
        return self.path(SILVER_STATE)

    def checkpoint(self, query: str) -> str:
        """Returns the checkpoint folder of a streaming query."""
        return self.path(CHECKPOINTS[query])
