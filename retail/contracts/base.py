"""What a contract is: the columns of one entity's events, their types and rules, and where the events travel."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

# Event ids are UUIDv5 names in this namespace: the same entity and identity always give the same id.
EVENT_NAMESPACE = uuid.UUID("5b0f6f5e-3c1e-4bb8-9a51-2f0c1c7e9d11")
IDENTITY_SEPARATOR = "\x1f"  # the ASCII unit separator between identity values in an event id's name


@dataclass(frozen=True)
class Column:
    """One field of an event. ``type`` is a Spark SQL type name; ``required`` means not null after parsing."""

    name: str
    type: str
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Rule:
    """A business rule a row must meet: ``violated`` is a Spark SQL predicate over the typed columns that is true
    when the row breaks it (null columns never break an entity rule; missing fields are their own rule)."""

    code: str
    violated: str
    description: str = ""


@dataclass(frozen=True)
class Contract:
    """The single source of truth for one entity: its Kafka topic, key, event time, identity and columns.
    ``identity``: the fields that tell one event of the entity from another (its natural key, first the id a fresh
    event gets anew). An event without an ``event_id`` (a shop's CSV export has none) is named by them: see
    ``event_id_of``."""

    entity: str
    topic: str
    key: str
    event_time: str
    identity: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Returns every field name in payload order, ``event_id`` first."""
        return ("event_id", *(c.name for c in self.columns))

    @property
    def required(self) -> tuple[str, ...]:
        """Returns the fields every event must carry (``event_id`` is not one: its identity names it)."""
        return tuple(c.name for c in self.columns if c.required)

    def event_id_of(self, values: Mapping[str, object]) -> str:
        """Returns the event id an event with these identity values has: UUIDv5 in ``EVENT_NAMESPACE`` of
        ``<entity>:<identity values>``, the values joined by U+001F, a timestamp as UTC ``2024-05-01T09:30:00.000Z``.
        The silver job derives the same id in Spark for every event that carries none, so one event sent through
        Kafka with its id and exported to CSV without it is recognised as the same event."""
        types = {c.name: c.type for c in self.columns}
        parts = (canonical(values.get(name), types[name]) for name in self.identity)
        return str(uuid.uuid5(EVENT_NAMESPACE, f"{self.entity}:{IDENTITY_SEPARATOR.join(parts)}"))


def canonical(value: object, type_: str) -> str:
    """Returns the text an identity value is named by: a timestamp (a datetime or ISO-8601 text with any offset) as
    UTC milliseconds with ``Z``; anything else as its text (None as empty). Text that is no timestamp stays as it
    is: such an event is quarantined, and its id only has to be stable."""
    if value is None:
        return ""
    if type_ == "timestamp":
        try:
            ts = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        return ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return str(value)
