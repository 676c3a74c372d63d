"""Silver IO: one bronze batch becomes silver Parquet, quarantine rows and per-batch counts, all entities in one pass,
in a handful of Spark jobs whose cost is the batch's own: nothing here reads silver or earlier batches' outputs.

One pass per batch: the batch's rows are parsed, typed and checked against their contract once; their keys (64-bit
digests of event id, content and customer; event time; whether they broke a rule) come to the driver in one Arrow
collect; the driver judges them against ``SilverState`` (``spark.silver.state``: what earlier batches brought, kept as
digests, bounded by a horizon in ingestion time); the judgement joins back to the rows by lineage and each output is
written once: silver per entity (behind the pandera gate), one quarantine, the released purchases, one counts file
and, with a keyspace, Cassandra (the query-first tables of each entity: a purchase's minute of sales too).

Exactly once: every output is keyed by batch id and replaces itself on a replay, and the batch's state delta is
persisted before any output. A replayed batch finds its own delta and is judged against the state before it, so it
decides exactly what its first attempt decided. Unknown customers are a matter of arrival order as often as of bad
data, so a purchase quarantined for ``unknown_customer`` alone waits (in the state) and is released into silver with
the batch that brings its customer, read back from its own batch's quarantine.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial, reduce

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame, Observation, SparkSession

from retail.cassandra import CassandraTarget, write_events
from retail.contracts import CLICKSTREAM, CONTRACTS, CUSTOMERS, PURCHASES, Contract
from retail.lake import BATCH_COUNTS, QUARANTINE, RELEASED, SILVER, SILVER_STATE, Dataset, LakeLayout
from spark.concurrent import run_all
from spark.hdfs import DRIVER_ROWS, Lake, replace_partitions
from spark.session import per_context
from spark.silver.lease import Holding, Lease, LeaseLostError
from spark.silver.quality import arrow_types, check_batch, gate
from spark.silver.state import (
    COUNTS,
    DEFAULT_HORIZON,
    KEY_COLUMNS,
    OUTCOMES,
    RETRIED_REASON,
    SilverState,
    arrow_frame,
    cassandra_writes,
    judge,
)
from spark.silver.transforms import LINEAGE, clean, parse_payload, serving_columns, typed, violations

ROW_KEY = ("topic", "partition", "offset")  # where a row came from: unique over bronze
SNAPSHOT_EVERY = 200  # deltas between two snapshots of the whole state
SNAPSHOT = "snapshot"
DRIVER_WRITES = 2_000  # Cassandra writes of a batch the driver sends itself; more go from the executors
# What the driver's one job brings of each row besides its serving columns (which hold the silver ones): the keys
# the judgement takes and what the quarantine keeps.
JUDGED = (
    "key",
    "hash",
    "customer",
    "event_time",
    "ingested_at_us",
    "valid",
    "origin",
    "retried",
    "violations",
    "payload",
)

__all__ = ["COUNTS", "OUTCOMES", "RETRIED_REASON", "SilverTargets", "SilverWriter", "process_batch"]


@dataclass(frozen=True)
class SilverTargets:
    """Where silver goes: the lake's silver, quarantine, released, batch counts and state datasets
    (``retail.lake``), and the Cassandra keyspace of the real-time tables (None: no Cassandra). ``serving``: a
    serving query writes every silver row to Cassandra as it is read, so this path writes only what it alone knows
    (releases, removals)."""

    lake: LakeLayout
    cassandra: CassandraTarget | None = None
    serving: bool = False

    @classmethod
    def under(cls, lake: LakeLayout, cassandra: CassandraTarget | None = None, serving: bool = False) -> SilverTargets:
        """Returns the targets in a lake's layout."""
        return cls(lake, cassandra, serving)

    def silver(self, entity: str) -> str:
        """Returns one entity's silver folder."""
        return self.lake.path(SILVER[entity])

    @property
    def state_root(self) -> str:
        """Returns the folder of the silver state's deltas and snapshots (and the writer's lease)."""
        return self.lake.path(SILVER_STATE)

    def write(self, frame: DataFrame, dataset: Dataset) -> None:
        """Writes ``frame`` into one of the lake's datasets, replacing exactly the partitions it holds."""
        replace_partitions(frame, self.lake.path(dataset), dataset.partitions)


def _keyed(bronze: DataFrame, contract: Contract, retried: bool) -> DataFrame:
    """Returns the checked rows of one entity (row rules applied) with the key columns the driver judges on."""
    checked = violations(typed(parse_payload(bronze, contract), contract), contract).drop(
        "raw", "json_kinds", "payload_keys", "is_utf8"
    )
    return checked.select("*", *_key_columns(contract, "customer_id" in contract.names, retried))


@per_context
def _key_columns(contract: Contract, has_customer: bool, retried: bool) -> tuple[Column, ...]:
    customer = F.col("customer_id") if has_customer else F.lit(None).cast("string")
    return (
        F.lit(contract.entity).alias("entity"),
        F.when(F.col("event_id").isNotNull(), F.xxhash64("event_id")).alias("key"),
        F.xxhash64("payload_hash").alias("hash"),
        F.when(customer.isNotNull(), F.xxhash64(customer)).alias("customer"),
        F.unix_micros(F.col(contract.event_time)).alias("event_time"),
        F.unix_micros("ingested_at").alias("ingested_at_us"),
        (F.size("violations") == 0).alias("valid"),
        F.col("batch_id").cast("string").alias("origin"),
        F.lit(retried).alias("retried"),
    )


def _keys_of(rows: DataFrame) -> pd.DataFrame:
    keys = rows.select(*(F.col("ingested_at_us" if c == "ingested_at" else c).alias(c) for c in KEY_COLUMNS))
    return arrow_frame(keys.toArrow())


def _union(frames: Iterable[DataFrame]) -> DataFrame:
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)


def _wide(keyed: DataFrame, contract: Contract) -> DataFrame:
    """Returns one entity's checked rows (``_keyed``) with everything any output takes of them: the serving columns
    (``serving_columns``: the silver ones and what Cassandra needs) and ``JUDGED``."""
    return serving_columns(keyed, contract, keep=JUDGED)


def _keys_of_table(table: pa.Table) -> pd.DataFrame:
    keys = table.select(["ingested_at_us" if c == "ingested_at" else c for c in KEY_COLUMNS])
    return arrow_frame(keys.rename_columns(list(KEY_COLUMNS)))


def _decided(table: pa.Table, judgement, serving: bool) -> pa.Table:
    """Returns the driver's rows of a batch with the judgement's decision on each (``reason``, ``outcome``,
    ``is_late``, ``write``: see ``cassandra_writes``), matched by where the row came from."""
    on = [*ROW_KEY, "retried"]
    decisions = judgement.rows[[*on, "reason", "outcome", "is_late"]].assign(
        write=cassandra_writes(judgement.rows, serving)
    )
    at = arrow_frame(table.select(on)).astype({"retried": bool})
    matched = at.merge(decisions.astype({"retried": bool}), on=on, how="left", validate="one_to_one")
    if matched["outcome"].isna().any():
        raise RuntimeError(f"{int(matched['outcome'].isna().sum())} rows of the batch have no judgement")
    types = {"reason": pa.string(), "outcome": pa.string(), "is_late": pa.bool_(), "write": pa.int32()}
    for name, type_ in types.items():
        table = table.append_column(name, pa.Array.from_pandas(matched[name], type=type_))
    return table


def state_file(tag: str) -> str:
    """Returns the name of a new state file: the time in milliseconds (names sort in the order they were written),
    then its tag (the batch id of a delta, or ``snapshot``)."""
    return f"{int(time.time() * 1000):013d}-{tag}.parquet"


def tag_of(name: str) -> str:
    """Returns the tag of a state file's name (see ``state_file``)."""
    return name[14:].removesuffix(".parquet")


@dataclass(frozen=True)
class _Observed:
    """What the driver counted of rows it writes, in the shape of a Spark ``Observation``."""

    get: dict[str, int]


class _Written:
    """The rows a batch's outputs wrote, per outcome and entity, counted by Spark as it writes them (an observation
    on each written frame: no Spark job of its own), to be reconciled with what the judgement decided."""

    OUTCOMES = ("silver", "quarantined", "released")

    def __init__(self, entities: tuple[str, ...]) -> None:
        self.entities = entities
        self.observed: list[tuple[str, Observation]] = []

    def observe(self, frame: DataFrame, outcome: str, entity: str | None = None) -> DataFrame:
        """Returns ``frame`` counted as it is written: its rows of ``entity``, or of every entity by its column."""
        observation = Observation(f"written-{outcome}-{entity or 'all'}-{uuid.uuid4().hex}")
        self.observed.append((outcome, observation))
        if entity is not None:
            return frame.observe(observation, F.count(F.lit(1)).alias(entity))
        return frame.observe(observation, *(F.count_if(F.col("entity") == e).alias(e) for e in self.entities))

    def add(self, table: pa.Table, outcome: str) -> pa.Table:
        """Returns ``table`` (rows the driver writes) counted for ``outcome``, per entity by its column."""
        observation = {e: pc.sum(pc.equal(table["entity"], e)).as_py() or 0 for e in self.entities}
        self.observed.append((outcome, _Observed(observation)))
        return table

    def reconcile(self, counts: dict[str, dict[str, int]], batch_id: str) -> None:
        """Raises when an output wrote other than the judgement's number of rows of an entity (an output it decided
        on and did not write counts as zero rows)."""
        written = {(o, e): 0 for o in self.OUTCOMES for e in self.entities}
        for outcome, observation in self.observed:
            for entity, rows in observation.get.items():
                written[outcome, entity] += rows
        wrong = [
            f"{entity} {outcome}: decided {counts[entity][outcome]}, wrote {rows}"
            for (outcome, entity), rows in written.items()
            if rows != counts[entity][outcome]
        ]
        if wrong:
            raise RuntimeError(f"silver batch {batch_id}: its outputs differ from its judgement: {'; '.join(wrong)}")


class SilverWriter:
    """Routes bronze batches to silver for one lake, keeping the state across the batches of this process."""

    def __init__(self, spark: SparkSession, targets: SilverTargets, horizon=DEFAULT_HORIZON) -> None:
        self.spark, self.targets, self.lake = spark, targets, Lake(spark)
        self.horizon = horizon
        self.state = SilverState(horizon)
        self.applied: list[str] = []  # state files in the order they were applied, since the last snapshot
        self.lease = Lease(self.lake, targets.state_root)  # one writer of this silver at a time
        self.silver_columns: dict[str, list[str]] = {}  # by entity, for the outputs the driver writes

    def process(
        self,
        bronze: DataFrame,
        batch_id: str,
        entities: tuple[str, ...] = tuple(CONTRACTS),
        partitions: int | None = None,
        rows: int | None = None,
    ) -> dict[str, dict[str, int]]:
        """Routes every entity of one bronze batch; records and returns the counts by entity. bronze_in + released
        = silver + quarantined + duplicate for every entity, or the batch fails loudly. A batch of customers also
        releases the purchases that were waiting for them. ``partitions``: how many the batch's rows take
        (``spark.hdfs.file_partitions`` of its size; default: the application's task slots). ``rows``: the
        batch's size, when known; a batch of at most ``DRIVER_ROWS`` is judged and written on the driver."""
        wanted = tuple(
            c.entity
            for c in (CUSTOMERS, PURCHASES, CLICKSTREAM)
            if c.entity in entities or (c is PURCHASES and CUSTOMERS.entity in entities)
        )
        with self.lease.held(f"silver batch {batch_id}") as holding:
            if rows is not None and rows <= DRIVER_ROWS:
                return self._process_on_driver(bronze, batch_id, wanted, holding)
            return self._process(bronze, batch_id, wanted, holding, partitions)

    def _process(
        self, bronze: DataFrame, batch_id: str, wanted: tuple[str, ...], holding: Holding, partitions: int | None
    ) -> dict[str, dict[str, int]]:
        own, seen = self._sync(batch_id)
        # As few partitions as the batch's size needs (``partitions``), not one per Kafka partition and entity: each
        # is a task in every job of the batch and a file in every partition folder of its outputs. Cached: the keys'
        # job parses the batch once and every output reads it back.
        parts = partitions or self.spark.sparkContext.defaultParallelism
        checked = _union(_keyed(bronze, CONTRACTS[e], retried=False) for e in wanted)
        checked = checked.coalesce(parts).persist()
        try:
            judgement = judge(_keys_of(checked), self.state, wanted)
            retried = judgement.rows[judgement.rows["retried"]]
            rows = checked
            if not retried.empty:
                waiting = self._waiting_rows(retried, batch_id)
                rows = rows.unionByName(waiting, allowMissingColumns=True).coalesce(parts)
            own = self._commit(own, seen, judgement, batch_id, holding)
            self._write_outputs(rows, judgement, batch_id, wanted, holding)
            self._applied(own, judgement, holding)
            return judgement.counts
        finally:
            checked.unpersist()

    def _process_on_driver(
        self, bronze: DataFrame, batch_id: str, wanted: tuple[str, ...], holding: Holding
    ) -> dict[str, dict[str, int]]:
        """The same judgement and outputs for a batch small enough for the driver, in one Spark job: every row
        parsed, checked and shaped for every output at once comes to the driver as Arrow, and the driver writes the
        outputs itself (``Lake.write_partitions``). A Spark job per output costs its planning, code generation,
        tasks and commit protocol, which for a small batch is most of the batch's cost."""
        own, seen = self._sync(batch_id)
        keyed = {e: _keyed(bronze, CONTRACTS[e], retried=False) for e in wanted}
        for e, rows in keyed.items():  # silver's columns as ``clean`` gives them (a plan's analysis: once)
            if e not in self.silver_columns:
                self.silver_columns[e] = [*clean(rows, CONTRACTS[e]).columns, "is_late"]
        table = _union(_wide(rows, CONTRACTS[e]) for e, rows in keyed.items()).toArrow()
        judgement = judge(_keys_of_table(table), self.state, wanted)
        retried = judgement.rows[judgement.rows["retried"]]
        if not retried.empty:
            waiting = _wide(self._waiting_rows(retried, batch_id), PURCHASES).toArrow()
            table = pa.concat_tables([table, waiting], promote_options="permissive")
        own = self._commit(own, seen, judgement, batch_id, holding)
        self._write_driver_outputs(_decided(table, judgement, self.targets.serving), judgement, batch_id, wanted)
        holding.check()
        self._write_counts(judgement.counts, batch_id)
        self._applied(own, judgement, holding)
        return judgement.counts

    def _commit(self, own: str | None, seen: list[str], judgement, batch_id: str, holding: Holding) -> str:
        """Persists the batch's state delta unless a first attempt did (``own``): its decisions become the state
        later batches are judged on; returns the delta's name."""
        if own is None:
            holding.check()
            self._check_state_unchanged(seen)
            own = state_file(batch_id)
            self.lake.write_table(
                pa.Table.from_pandas(judgement.delta, preserve_index=False), f"{self.targets.state_root}/{own}"
            )
        return own

    def _applied(self, own: str, judgement, holding: Holding) -> None:
        """Applies the batch's delta to the state this process holds, and snapshots the state every so often."""
        self.state.apply(judgement.delta)
        self.applied.append(own)
        if len(self.applied) >= SNAPSHOT_EVERY:
            holding.check()
            self._snapshot()

    # -- state ---------------------------------------------------------------------------------------------------

    def _state_files(self) -> list[str]:
        return [n for n in self.lake.names(self.targets.state_root) if n.endswith(".parquet")]

    def _check_state_unchanged(self, seen: list[str]) -> None:
        """Raises LeaseLostError when a state file appeared since the batch read the state: another writer
        committed in between, so this batch was judged against a stale state and must not commit."""
        appeared = sorted(set(self._state_files()) - set(seen))
        if appeared:
            raise LeaseLostError(f"another silver writer committed {appeared} while this batch was judged")

    def _sync(self, batch_id: str) -> tuple[str | None, list[str]]:
        """Brings the state to what it was before ``batch_id`` (all of it, for a new batch); returns the name of
        the batch's own delta when a first attempt of it persisted one, and the state files it found."""
        names = self._state_files()
        own = next((n for n in names if tag_of(n) == batch_id), None)
        wanted = names[: names.index(own)] if own else names
        snapshots = [n for n in wanted if tag_of(n) == SNAPSHOT]
        start = wanted.index(snapshots[-1]) if snapshots else 0
        wanted = wanted[start:]
        if self.applied != wanted[: len(self.applied)] or not self.applied:
            self.state, self.applied = SilverState(self.horizon), []
        missing = wanted[len(self.applied) :]
        if missing:
            uris = [f"{self.targets.state_root}/{n}" for n in missing]
            for name, table in zip(missing, self.lake.read_tables(uris), strict=True):
                self.state.apply(arrow_frame(table))
                self.applied.append(name)
        return own, names

    def _snapshot(self) -> None:
        """Writes the whole state as one file and removes the files before the previous snapshot (a replay of the
        newest batch needs the previous snapshot and the deltas after it)."""
        name = state_file(SNAPSHOT)
        self.lake.write_table(
            pa.Table.from_pandas(self.state.snapshot(), preserve_index=False), f"{self.targets.state_root}/{name}"
        )
        names = self._state_files()
        snapshots = [n for n in names if tag_of(n) == SNAPSHOT and n != name]
        if snapshots:
            for old in names[: names.index(snapshots[-1])]:
                self.lake.delete(f"{self.targets.state_root}/{old}")
        self.applied = [name]

    def _waiting_rows(self, retried: pd.DataFrame, batch_id: str) -> DataFrame:
        """Returns the waiting purchases released for a retry, as checked rows of this batch, read back from the
        quarantine partitions of the batches that hold them (by path: no listing of the whole quarantine)."""
        layout = self.targets.lake
        paths = [
            layout.partition(QUARANTINE, entity=PURCHASES.entity, batch_id=b) for b in sorted(set(retried["origin"]))
        ]
        wanted = self.spark.createDataFrame(retried[list(ROW_KEY)].astype({"partition": "int32"}))
        quarantined = self.spark.read.option("basePath", layout.path(QUARANTINE)).parquet(*paths)
        bronze = quarantined.join(F.broadcast(wanted), on=list(ROW_KEY), how="inner").select(
            "entity",
            F.col("payload").cast("binary").alias("value"),
            *(F.col(c) for c in LINEAGE if c != "batch_id"),
            F.col("batch_id").cast("string").alias("batch_id"),
        )
        rows = _keyed(bronze, PURCHASES, retried=True)
        # Released rows belong to this batch's outputs, so that a replay of it replaces them.
        return rows.withColumn("batch_id", F.lit(batch_id))

    # -- outputs -------------------------------------------------------------------------------------------------

    def _write_outputs(
        self, rows: DataFrame, judgement, batch_id: str, entities: tuple[str, ...], holding: Holding
    ) -> None:
        decisions = judgement.rows[[*ROW_KEY, "retried", "reason", "outcome", "is_late"]].assign(
            write=cassandra_writes(judgement.rows, self.targets.serving)
        )
        decided = self.spark.createDataFrame(
            decisions.astype({"partition": "int32", "offset": "int64"}),
            "topic string, partition int, offset long, retried boolean, reason string, outcome string, "
            "is_late boolean, write int",
        ).coalesce(1)  # broadcast to each output's join by a job of one task, not one per task slot
        # Not cached: each output is one job that reads the cached rows and joins the decisions itself (caching the
        # join would cost each output a second job, the cache's materialisation, for a join that costs less).
        judged = rows.join(F.broadcast(decided), on=[*ROW_KEY, "retried"], how="inner").withColumn(
            "reasons", F.when(F.col("reason").isNotNull(), F.array("reason")).otherwise(F.col("violations"))
        )
        counts = judgement.counts
        written = _Written(entities)  # the rows each write actually wrote, counted as Spark writes them
        outputs = {}  # independent of each other: written side by side, the counts after all of them
        for entity in entities:
            if counts[entity]["silver"]:
                contract = CONTRACTS[entity]
                silver = clean(judged.where((F.col("entity") == entity) & (F.col("outcome") == "silver")), contract)
                silver = written.observe(gate(silver, contract), "silver", entity)
                outputs[f"silver {entity}"] = partial(self.targets.write, silver, SILVER[entity])
        if any(c["quarantined"] for c in counts.values()):
            quarantine = judged.where(F.col("outcome") == "quarantined").select(
                "entity", "event_id", "reasons", "payload", *LINEAGE
            )
            outputs[QUARANTINE.name] = partial(
                self.targets.write, written.observe(quarantine, "quarantined"), QUARANTINE
            )
        if any(c["released"] for c in counts.values()):
            released = judged.where(F.col("retried") & (F.col("outcome") != "waiting")).select(
                "entity", "event_id", *ROW_KEY, "outcome", F.lit(batch_id).alias("batch_id")
            )
            outputs[RELEASED.name] = partial(self.targets.write, written.observe(released, "released"), RELEASED)
        if self.targets.cassandra is not None:
            outputs |= self._cassandra_outputs(judged, decisions, counts, entities)
        run_all({f"silver batch {batch_id}: {name}": task for name, task in outputs.items()})
        written.reconcile(counts, batch_id)
        holding.check()
        self._write_counts(counts, batch_id)

    def _cassandra_outputs(self, judged: DataFrame, decisions: pd.DataFrame, counts, entities: tuple[str, ...]) -> dict:
        """Returns the write of what Cassandra must hold of this batch: its silver rows (unless a serving query
        writes them), the purchases it released and removals of rows the serving query wrote that silver rejects,
        in one job (none when the batch's judgement has nothing of these). Each row goes to every table of its
        entity (a purchase to its minute's sales too). Beside a serving query these are a few rows per batch: they
        come to the driver, which writes them itself (no task, no Python worker); more go from the executors."""
        marked = judged.where(F.col("write").isNotNull())
        frames = [
            serving_columns(marked.where(F.col("entity") == entity), CONTRACTS[entity], keep=("write",))
            for entity in entities
            if counts[entity]["silver"] or counts[entity]["quarantined"]
        ]
        writes = int(decisions["write"].notna().sum())
        if not frames or not writes:
            return {}
        wide = _union(frames)
        write = partial(write_events, target=self.targets.cassandra)
        if writes <= DRIVER_WRITES:
            return {"cassandra": lambda: write(wide.toArrow().to_pylist())}
        return {"cassandra": partial(wide.foreachPartition, write)}

    def _write_driver_outputs(self, table: pa.Table, judgement, batch_id: str, entities: tuple[str, ...]) -> None:
        """Writes the outputs of a batch the driver holds (``_decided``), as ``_write_outputs`` does with Spark's
        executors: silver per entity behind the pandera gate, the quarantine, the released purchases and what
        Cassandra must hold of it, side by side; then reconciles what was written with the judgement."""
        counts, written, lake = judgement.counts, _Written(entities), self.lake
        outcome = table["outcome"]
        outputs = {}
        for entity in entities:
            if counts[entity]["silver"]:
                contract = CONTRACTS[entity]
                rows = table.filter(pc.and_(pc.equal(table["entity"], entity), pc.equal(outcome, "silver")))
                silver = written.add(rows, "silver").select(self.silver_columns[entity])
                check_batch(silver.drop_columns(list(SILVER[entity].partitions)), contract, arrow_types(contract))
                outputs[f"silver {entity}"] = partial(
                    lake.write_partitions, silver, self.targets.silver(entity), SILVER[entity].partitions
                )
        quarantined = written.add(table.filter(pc.equal(outcome, "quarantined")), "quarantined")
        if quarantined.num_rows:
            reasons = [
                [reason] if reason is not None else broken
                for reason, broken in zip(
                    quarantined["reason"].to_pylist(), quarantined["violations"].to_pylist(), strict=True
                )
            ]
            quarantine = quarantined.select(["entity", "event_id", "payload", *LINEAGE]).add_column(
                2, "reasons", pa.array(reasons, quarantined["violations"].type)
            )
            outputs[QUARANTINE.name] = partial(
                lake.write_partitions, quarantine, self.targets.lake.path(QUARANTINE), QUARANTINE.partitions
            )
        retried = table.filter(pc.and_(table["retried"], pc.not_equal(outcome, "waiting")))
        released = written.add(retried, "released").select(["entity", "event_id", *ROW_KEY, "outcome"])
        if released.num_rows:
            released = released.append_column("batch_id", pa.array([batch_id] * released.num_rows, pa.string()))
            outputs[RELEASED.name] = partial(
                lake.write_partitions, released, self.targets.lake.path(RELEASED), RELEASED.partitions
            )
        cassandra = table.filter(pc.is_valid(table["write"]))
        if self.targets.cassandra is not None and cassandra.num_rows:
            outputs["cassandra"] = partial(write_events, cassandra.to_pylist(), self.targets.cassandra)
        run_all({f"silver batch {batch_id}: {name}": task for name, task in outputs.items()})
        written.reconcile(counts, batch_id)

    def _write_counts(self, counts: dict[str, dict[str, int]], batch_id: str) -> None:
        """Writes one counts file per entity of the batch (the batch's last output: its presence means done)."""
        recorded_at = datetime.now(UTC)
        for entity, c in counts.items():
            table = pa.table(
                {
                    **{k: pa.array([c[k]], pa.int64()) for k in COUNTS},
                    "recorded_at": pa.array([recorded_at], pa.timestamp("us", tz="UTC")),
                }
            )
            folder = self.targets.lake.partition(BATCH_COUNTS, entity=entity, batch_id=batch_id)
            self.lake.write_table(table, f"{folder}/part.parquet")


_WRITERS: dict[tuple[int, SilverTargets], SilverWriter] = {}


def silver_writer(spark: SparkSession, targets: SilverTargets) -> SilverWriter:
    """Returns this process's silver writer for ``targets`` (its state kept across batches)."""
    key = (id(spark), targets)
    if key not in _WRITERS:
        _WRITERS[key] = SilverWriter(spark, targets)
    return _WRITERS[key]


def process_batch(
    spark: SparkSession,
    bronze: DataFrame,
    batch_id: str,
    targets: SilverTargets,
    entities: tuple[str, ...] = tuple(CONTRACTS),
    partitions: int | None = None,
    rows: int | None = None,
) -> dict[str, dict[str, int]]:
    """Routes one bronze batch through this process's silver job for ``targets``; returns its counts by entity
    (``partitions``, ``rows``: see ``SilverWriter.process``)."""
    return silver_writer(spark, targets).process(bronze, batch_id, entities, partitions, rows)


def outstanding_quarantine(spark: SparkSession, targets: SilverTargets) -> DataFrame:
    """Returns the quarantine as it stands: one row per rejected bronze row that no later batch released."""
    quarantine = spark.read.parquet(targets.lake.path(QUARANTINE))
    if not Lake(spark).exists(targets.lake.path(RELEASED)):
        return quarantine
    released = spark.read.schema(RELEASED.schema).parquet(targets.lake.path(RELEASED)).select("entity", *ROW_KEY)
    return quarantine.join(released, on=["entity", *ROW_KEY], how="left_anti")


def recorded_counts(spark: SparkSession, targets: SilverTargets, batch_id: str) -> dict[str, dict[str, int]]:
    """Returns the counts recorded for one batch, by entity (empty when the batch never finished silver)."""
    lake = Lake(spark)
    found = lake.glob(f"{targets.lake.partition(BATCH_COUNTS, entity='*', batch_id=batch_id)}/part.parquet")
    counts = {}
    for uri, table in zip(found, lake.read_tables(found), strict=True):
        entity = uri.split("/entity=")[1].split("/")[0]
        row = table.to_pylist()[0]
        counts[entity] = {k: row[k] for k in COUNTS}
    return counts
