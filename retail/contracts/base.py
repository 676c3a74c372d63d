"""What a contract is: the columns of one entity's events, their types and rules, and where the events travel."""

from __future__ import annotations

from dataclasses import dataclass


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
    event gets anew); an event without an ``event_id`` is named by them."""

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
        """Returns the fields every event must carry, ``event_id`` first."""
        return ("event_id", *(c.name for c in self.columns if c.required))
