"""The lake's layout: every folder the platform writes on HDFS, named once, under one root URI."""

from __future__ import annotations

from dataclasses import dataclass

# The streaming queries over Kafka, each with a checkpoint of its own (named after the query). The bronze + silver
# stream keeps the name it always had, so a lake it ran on resumes where it stopped.
STREAM_QUERY = "bronze_kafka"
BRONZE_ONLY_QUERY = "bronze_only_kafka"


@dataclass(frozen=True)
class LakeLayout:
    """The folders under a lake root (``hdfs://host:port/retail``); ``Settings().lake()`` gives the configured one."""

    root: str

    def _under(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    @property
    def bronze_kafka(self) -> str:
        """Kafka records as they arrived."""
        return self._under("bronze", "kafka")

    @property
    def bronze_csv(self) -> str:
        """CSV lines as they arrived."""
        return self._under("bronze", "csv")

    @property
    def landing_csv(self) -> str:
        """CSV files copied in before they land."""
        return self._under("landing", "csv")

    @property
    def silver_root(self) -> str:
        """Every entity's silver table."""
        return self._under("silver")

    def silver(self, entity: str) -> str:
        """Returns one entity's silver table."""
        return self._under("silver", entity)

    @property
    def quarantine(self) -> str:
        """Rejected rows with every reason, by entity and batch."""
        return self._under("quarantine")

    @property
    def batch_counts(self) -> str:
        """Every batch's counts by entity: its presence means the batch is done."""
        return self._under("_audit", "batch_counts")

    @property
    def released(self) -> str:
        """Purchases let out of quarantine once their customer came."""
        return self._under("_audit", "released")

    @property
    def silver_state(self) -> str:
        """The silver state's deltas and snapshots."""
        return self._under("_state", "silver")

    def checkpoint(self, query: str) -> str:
        """Returns the checkpoint folder of a streaming query."""
        return self._under("_checkpoints", query)
