"""The retail event generator: deterministic valid events with bad records mixed in on demand, each labelled."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from retail.contracts import CONTRACTS
from retail.generator.events import EventFactory, iso, waves
from retail.generator.faults import BAD_KINDS, DUPLICATE_KINDS, FAULTS, Record, encode, from_event, make_fault

__all__ = ["BAD_KINDS", "GeneratorConfig", "Record", "generate", "happening_now"]


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate: ``bad_fraction`` of all records are bad, cycling through ``bad_kinds`` in order. Shard
    ``shard`` of ``shards`` makes every ``shards``-th wave of customers: shards run in parallel processes never
    make the same event, and together make as many kinds of records as one generator."""

    seed: int = 42
    customers_per_wave: int = 25
    bad_fraction: float = 0.0
    bad_kinds: tuple[str, ...] = BAD_KINDS
    start: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    shard: int = 0
    shards: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.bad_fraction < 1.0:
            raise ValueError(f"bad_fraction must be in [0, 1), got {self.bad_fraction}")
        unknown = set(self.bad_kinds) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown bad record kinds {sorted(unknown)}; known: {', '.join(BAD_KINDS)}")
        if not 0 <= self.shard < self.shards:
            raise ValueError(f"shard must be in [0, shards), got shard {self.shard} of {self.shards}")
        if self.bad_fraction and not self.bad_kinds:
            raise ValueError("bad_fraction > 0 needs at least one bad record kind")


def generate(config: GeneratorConfig) -> Iterator[Record]:
    """Yields records without end (take what you need with itertools.islice): every valid event once, and bad
    records so that ``bad_fraction`` of everything yielded is bad. A duplicate always follows its original."""
    factory = EventFactory(config.seed, config.customers_per_wave, config.start)
    rng = random.Random(f"faults:{config.seed}" + (f":{config.shard}" if config.shards > 1 else ""))
    kinds = itertools.cycle(config.bad_kinds) if config.bad_kinds else iter(())
    owed, seq = 0.0, config.shard << 40  # fault numbers of different shards never meet
    for events in waves(factory, config.shard, config.shards):
        owed += len(events) * config.bad_fraction / (1.0 - config.bad_fraction)
        placed: list[tuple[int, int, Record]] = [(i, 0, from_event(e)) for i, e in enumerate(events)]
        while owed >= 1.0:
            owed -= 1.0
            seq += 1
            kind = next(kinds)
            record = make_fault(kind, events, seq, rng)
            if kind in DUPLICATE_KINDS:
                original = next(i for i, e in enumerate(events) if e.event_id == record.event_id)
                position = rng.randint(original, len(events) - 1)
            else:
                position = rng.randint(0, len(events) - 1)
            placed.append((position, seq, record))
        placed.sort(key=lambda p: (p[0], p[1]))
        for _, _, record in placed:
            yield record


def happening_now(
    records: Iterable[Record], clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Iterator[Record]:
    """Yields ``records`` as a live shop sends them: each valid event happens at the moment it is taken (its event
    time is ``clock()`` then, and its id the one that time gives); bad records pass as they are."""
    for record in records:
        if record.kind == "valid" and record.payload is not None:
            contract = CONTRACTS[record.entity]
            fields = {k: v for k, v in record.payload.items() if k != "event_id"} | {contract.event_time: iso(clock())}
            payload = {"event_id": contract.event_id_of(fields), **fields}
            record = replace(record, event_id=payload["event_id"], value=encode(payload), payload=payload)
        yield record
