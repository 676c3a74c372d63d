"""Silver's memory of earlier batches, held by the driver, and the judgement of one batch against it. Pure: no Spark.

A micro-batch must cost what its own rows cost, so nothing here reads silver. What a batch is judged against is kept
as 64-bit digests (xxhash64 of the event id, of the typed content's hash, of the customer id):

- ``seen``: per entity, every event id that reached silver, with its content digest (duplicates are judged on it);
  kept for ``horizon`` of ingestion time: an event re-sent later than that is not recognised as a re-send.
- ``customers``: every customer id in silver, kept for good (a customer may buy years after signing up).
- ``waiting``: purchases quarantined for an unknown customer alone (their keys and the batch whose quarantine holds
  their payload), until their customer arrives (then they are released with that batch) or the horizon passes
  (then they stay quarantined).
- ``watermark``: per entity, the newest event time in silver; older than it minus the allowed lateness is late.

A batch's judgement is a function of the batch's rows and the state before it, and the batch's ``Delta`` is what it
adds; the job persists each delta before the batch's outputs, so a replayed batch is judged against exactly the
state its first attempt saw. Two 64-bit digests collide with odds of about n²/2⁶⁵ (3·10⁻⁶ for ten million ids); a
collision makes a new event look like a conflicting duplicate, which is quarantined, never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from retail.cassandra.writer import Write
from retail.contracts import CUSTOMERS, PURCHASES

ALLOWED_LATENESS = timedelta(days=2)
DEFAULT_HORIZON = timedelta(days=7)
RETRIED_REASON = "unknown_customer"
CONFLICT_REASON = "conflicting_duplicate"
OUTCOMES = ("silver", "quarantined", "duplicate")
COUNTS = ("bronze_in", "released", *OUTCOMES, "late")
MICROS = 1_000_000

# What a batch's keys frame holds, one row per bronze row (and per waiting purchase retried with the batch).
KEY_COLUMNS = {
    "entity": "string",
    "topic": "string",
    "partition": "int",
    "offset": "long",
    "key": "long",  # digest of event_id, null when the row has none
    "hash": "long",  # digest of the typed content
    "customer": "long",  # digest of customer_id (customers and purchases), else null
    "event_time": "long",  # microseconds since the epoch, null when it did not parse
    "ingested_at": "long",  # microseconds since the epoch
    "valid": "boolean",  # broke no row rule
    "origin": "string",  # the batch whose bronze row it is (a retried purchase's is an earlier batch)
}


class DigestMap:
    """A map of 64-bit digests to 64-bit values with an ingestion time each, as sorted numpy arrays: ten million
    entries take ~240 MB, and looking up a batch is one vectorised search. Recent puts go to a small second level
    that is merged into the first when it grows, so a put costs what the batch costs, not what the map holds."""

    _MERGE_AT = 500_000

    def __init__(self) -> None:
        self._levels = [_sorted_level(), _sorted_level()]  # [large, recent]

    def __len__(self) -> int:
        large, recent = self._levels
        return len(large[0]) + int((~_contains(large[0], recent[0])).sum())

    def get(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Returns (found, values) for each of ``keys``; values are 0 where not found. The first put of a key wins."""
        keys = np.asarray(keys, np.int64)
        found, values = np.zeros(len(keys), bool), np.zeros(len(keys), np.int64)
        for level_keys, level_values, _ in reversed(self._levels):  # the large level holds the older, first puts
            at = np.searchsorted(level_keys, keys).clip(max=max(len(level_keys) - 1, 0))
            hit = (level_keys[at] == keys) if len(level_keys) else np.zeros(len(keys), bool)
            values[hit] = level_values[at[hit]]
            found |= hit
        return found, values

    def put(self, keys: np.ndarray, values: np.ndarray, at: np.ndarray) -> None:
        """Adds entries; a key already present keeps its first value (the original of a duplicate)."""
        large, recent = self._levels
        keys = np.asarray(keys, np.int64)
        new = ~_contains(large[0], keys)
        self._levels[1] = _merged(recent, (keys[new], np.asarray(values, np.int64)[new], np.asarray(at, np.int64)[new]))
        if len(self._levels[1][0]) >= self._MERGE_AT:
            self._levels = [_merged(large, self._levels[1]), _sorted_level()]

    def prune(self, before: int) -> None:
        """Drops entries ingested before ``before`` (microseconds)."""
        self._levels = [tuple(a[level[2] >= before] for a in level) for level in self._levels]

    def frame(self) -> pd.DataFrame:
        """Returns every entry as columns key, hash, ingested_at."""
        keys, values, at = _merged(*self._levels)
        return pd.DataFrame({"key": keys, "hash": values, "ingested_at": at})


def _sorted_level() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(keys), bool)
    at = np.searchsorted(sorted_keys, keys).clip(max=len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _merged(first: tuple, second: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns one sorted level of two; for a key in both, the entry of ``first`` (then the earliest) wins."""
    keys, values, at = (np.concatenate([a, b]) for a, b in zip(first, second, strict=True))
    unique, index = np.unique(keys, return_index=True)  # index: the first position of each key
    return unique, values[index], at[index]


def arrow_frame(table) -> pd.DataFrame:
    """Returns a pandas frame of an Arrow table with nullable integer and boolean columns (a float64 column would
    round the 64-bit digests)."""
    import pyarrow as pa

    mapping = {
        pa.int64(): pd.Int64Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.string(): pd.StringDtype(),
        pa.large_string(): pd.StringDtype(),
    }
    return table.to_pandas(types_mapper=mapping.get)


@dataclass
class SilverState:
    """What silver knows of earlier batches (see the module docstring)."""

    horizon: timedelta = DEFAULT_HORIZON
    seen: dict[str, DigestMap] = field(default_factory=dict)
    customers: DigestMap = field(default_factory=DigestMap)
    waiting: pd.DataFrame | None = None  # keys of the waiting purchases
    watermark: dict[str, int] = field(default_factory=dict)  # microseconds

    def seen_of(self, entity: str) -> DigestMap:
        """Returns the event-id digests seen of one entity."""
        return self.seen.setdefault(entity, DigestMap())

    def waiting_for(self, customers: np.ndarray) -> pd.DataFrame:
        """Returns the waiting purchases whose customer is one of ``customers`` (digests)."""
        if self.waiting is None or self.waiting.empty:
            return pd.DataFrame()
        return self.waiting[self.waiting["customer"].isin(customers)]

    def apply(self, delta: pd.DataFrame) -> None:
        """Adds one batch's delta (see ``Judgement.delta``) and forgets what fell out of the horizon."""
        for kind, rows in delta.groupby("kind", sort=False):
            if kind == "seen":
                for entity, of_entity in rows.groupby("entity", sort=False):
                    ids = of_entity["key"].to_numpy(np.int64)
                    self.seen_of(entity).put(
                        ids, of_entity["hash"].to_numpy(np.int64), of_entity["ingested_at"].to_numpy(np.int64)
                    )
                    times = of_entity["event_time"].dropna()  # a snapshot's seen rows carry none
                    if len(times):
                        newest = int(times.max())
                        self.watermark[entity] = max(self.watermark.get(entity, newest), newest)
            elif kind == "customer":
                ids = rows["customer"].to_numpy(np.int64)
                self.customers.put(ids, ids, rows["ingested_at"].to_numpy(np.int64))
            elif kind == "watermark":
                for entity, newest in zip(rows["entity"], rows["event_time"], strict=True):
                    self.watermark[entity] = max(self.watermark.get(entity, int(newest)), int(newest))
            elif kind == "waiting":
                frames = [self.waiting, rows.drop(columns="kind")] if self.waiting is not None else [rows]
                self.waiting = pd.concat(frames, ignore_index=True).drop(columns="kind", errors="ignore")
            elif kind == "released" and self.waiting is not None:
                gone = set(zip(rows["topic"], rows["partition"], rows["offset"], strict=True))
                keep = [
                    k not in gone
                    for k in zip(self.waiting["topic"], self.waiting["partition"], self.waiting["offset"], strict=True)
                ]
                self.waiting = self.waiting[keep].reset_index(drop=True)

    def prune(self, now: int) -> None:
        """Forgets seen ids and waiting purchases ingested more than the horizon before ``now`` (microseconds)."""
        before = now - int(self.horizon.total_seconds() * MICROS)
        for seen in self.seen.values():
            seen.prune(before)
        if self.waiting is not None:
            self.waiting = self.waiting[self.waiting["ingested_at"] >= before].reset_index(drop=True)

    def snapshot(self) -> pd.DataFrame:
        """Returns the whole state as one delta: applied to an empty state, it gives this state."""
        parts = []
        for entity, seen in self.seen.items():
            parts.append(seen.frame().assign(kind="seen", entity=entity))
        customers = self.customers.frame()
        parts.append(
            pd.DataFrame({"kind": "customer", "customer": customers["key"], "ingested_at": customers["ingested_at"]})
        )
        parts.append(
            pd.DataFrame(
                {"kind": "watermark", "entity": list(self.watermark), "event_time": list(self.watermark.values())}
            )
        )
        if self.waiting is not None and not self.waiting.empty:
            parts.append(self.waiting.assign(kind="waiting"))
        return _delta_frame(pd.concat(parts, ignore_index=True))


@dataclass(frozen=True)
class Judgement:
    """The outcome of every row of one batch (``rows``: the keys frame plus ``duplicate``, ``reason``, ``outcome``,
    ``is_late``, ``retried``), its counts per entity, and the delta it adds to the state."""

    rows: pd.DataFrame
    counts: dict[str, dict[str, int]]
    delta: pd.DataFrame


def judge(keys: pd.DataFrame, state: SilverState, entities: tuple[str, ...]) -> Judgement:
    """Returns the judgement of one batch, one row per keys row (bronze rows first, then waiting purchases retried).

    In order: a row that broke a row rule is quarantined (its reasons come from Spark); a second occurrence of an
    event id with other content is a ``conflicting_duplicate``; an exact re-send is a ``duplicate``; a purchase whose
    customer silver has not seen (nor this batch brings) is quarantined as ``unknown_customer`` and waits; the rest
    is silver, ``is_late`` when older than the entity's watermark minus the allowed lateness. Waiting purchases whose
    customer this batch brings are judged again with it: released (silver or duplicate), or still waiting."""
    rows = keys.assign(retried=False)
    if len(rows):
        state.prune(int(rows["ingested_at"].max()))  # the batch's own time: a replay prunes exactly the same
    customers_now = _silver_customers(rows, state)
    retry = state.waiting_for(customers_now) if PURCHASES.entity in entities else pd.DataFrame()
    if not retry.empty:
        rows = pd.concat([rows, retry[list(keys.columns)].assign(retried=True)], ignore_index=True)
    rows = _with_duplicates(rows, state)
    known_before, _ = state.customers.get(rows["customer"].fillna(0).to_numpy(np.int64))
    known = known_before | rows["customer"].isin(customers_now).to_numpy()
    clean = rows["valid"].to_numpy(bool)
    conflicting = clean & (rows["duplicate"] == "conflicting").to_numpy()
    purchases = (rows["entity"] == PURCHASES.entity).to_numpy()
    unknown = clean & ~conflicting & rows["duplicate"].isna().to_numpy() & purchases & ~known
    reason = np.where(conflicting, CONFLICT_REASON, np.where(unknown, RETRIED_REASON, None))
    outcome = np.where(
        ~clean | conflicting | unknown, "quarantined", np.where(rows["duplicate"] == "exact", "duplicate", "silver")
    )
    outcome = np.where(rows["retried"] & (outcome == "quarantined"), "waiting", outcome)
    watermark = rows["entity"].map(state.watermark).astype("float64")
    lateness = ALLOWED_LATENESS.total_seconds() * MICROS
    is_late = (outcome == "silver") & (rows["event_time"].astype("float64") < watermark - lateness).to_numpy()
    judged = rows.assign(reason=reason, outcome=outcome, is_late=is_late)
    return Judgement(judged, _counts(judged, entities), _delta(judged))


def cassandra_writes(judged: pd.DataFrame, serving: bool) -> pd.Series:
    """Returns, per judged row, how the silver path writes it to Cassandra (a ``Write``; null: not at all): a
    released purchase is re-inserted over its own delete, a silver row is written unless a serving query wrote it
    already (``serving``), and a row the serving query wrote that silver quarantined (a conflicting re-send, a
    purchase waiting for its customer) is deleted."""
    silver, retried = (judged["outcome"] == "silver").to_numpy(), judged["retried"].to_numpy(bool)
    removed = (
        (judged["outcome"] == "quarantined") & judged["reason"].isin((CONFLICT_REASON, RETRIED_REASON))
    ).to_numpy()
    write = np.select(
        [silver & retried, silver & (not serving), removed],
        [int(Write.RELEASE), int(Write.SILVER), int(Write.DELETE)],
        default=0,
    )
    return pd.Series(write, index=judged.index, dtype="Int32").where(silver & (retried | (not serving)) | removed)


def _silver_customers(rows: pd.DataFrame, state: SilverState) -> np.ndarray:
    """Returns the customer digests this batch brings to silver: valid, first-seen customer events. (An exact
    re-send brings no customer that is not known already; a conflicting one is quarantined.)"""
    customers = rows[(rows["entity"] == CUSTOMERS.entity) & rows["valid"] & rows["key"].notna()]
    customers = customers.sort_values(["partition", "offset"]).drop_duplicates("key")
    found, _ = state.seen_of(CUSTOMERS.entity).get(customers["key"].to_numpy(np.int64))
    return customers.loc[~found, "customer"].dropna().to_numpy(np.int64)


def _with_duplicates(rows: pd.DataFrame, state: SilverState) -> pd.DataFrame:
    """Adds ``duplicate``: null for the first occurrence of an event id, ``exact`` for a re-send of the same
    content, ``conflicting`` for other content; the original is the one silver has seen, else the lowest
    (partition, offset) of the batch (a retried purchase comes from an earlier batch: its offset is older)."""
    duplicate = pd.Series(None, index=rows.index, dtype="object")
    for entity, of_entity in rows[rows["key"].notna()].groupby("entity", sort=False):
        ordered = of_entity.sort_values(["partition", "offset"])
        first_hash = ordered.groupby("key")["hash"].transform("first")
        is_first_here = ~ordered["key"].duplicated()
        found, seen_hash = state.seen_of(entity).get(ordered["key"].to_numpy(np.int64))
        original = np.where(found, seen_hash, first_hash.to_numpy(np.int64))
        kind = np.where(ordered["hash"].to_numpy(np.int64) == original, "exact", "conflicting")
        kind = np.where(~found & is_first_here.to_numpy(), None, kind)
        duplicate.loc[ordered.index] = kind
    return rows.assign(duplicate=duplicate)


def _counts(judged: pd.DataFrame, entities: tuple[str, ...]) -> dict[str, dict[str, int]]:
    counts = {}
    for entity in entities:
        rows = judged[judged["entity"] == entity]
        fresh, retried = rows[~rows["retried"]], rows[rows["retried"]]
        counts[entity] = {
            "bronze_in": len(fresh),
            "released": int((retried["outcome"] != "waiting").sum()),
            **{o: int((rows["outcome"] == o).sum()) for o in OUTCOMES},
            "late": int(rows["is_late"].sum()),
        }
    return counts


def _delta(judged: pd.DataFrame) -> pd.DataFrame:
    silver = judged[judged["outcome"] == "silver"]
    fresh = judged[~judged["retried"]]
    retried = judged[judged["retried"]]
    parts = [
        silver.assign(kind="seen"),
        silver[silver["entity"] == CUSTOMERS.entity].assign(kind="customer"),
        fresh[fresh["reason"] == RETRIED_REASON].assign(kind="waiting"),
        retried[retried["outcome"] != "waiting"].assign(kind="released"),
    ]
    return _delta_frame(pd.concat(parts, ignore_index=True))


DELTA_COLUMNS = ("kind", *KEY_COLUMNS)


def _delta_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Returns ``frame`` with exactly the delta columns, in order, with stable dtypes (missing ones null)."""
    out = frame.reindex(columns=list(DELTA_COLUMNS))
    for name in ("partition", "offset", "key", "hash", "customer", "event_time", "ingested_at"):
        out[name] = out[name].astype("Int64")
    out["valid"] = out["valid"].astype("boolean")
    for name in ("kind", "entity", "topic", "origin"):
        out[name] = out[name].astype("string")
    return out
