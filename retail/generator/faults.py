"""Bad records on demand: each kind turns a valid event into the wire bytes of one realistic fault.

Every bad record has an event id the ledger records, even when its payload cannot be parsed: the id of the event it
duplicates, or a fresh one derived from the fault's sequence number.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from retail.contracts import CLICKSTREAM, CONTRACTS, CUSTOMERS, PURCHASES
from retail.generator.events import Event, iso

OVERSIZED_CHARS = 64 * 1024


@dataclass(frozen=True)
class Record:
    """One message as it goes on the wire: entity, key, value bytes, and what the generator meant it to be."""

    entity: str
    event_id: str
    key: bytes
    value: bytes
    kind: str = "valid"
    payload: dict[str, object] | None = None


def encode(payload: dict[str, object]) -> bytes:
    """Returns the wire bytes of a payload (compact JSON, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def from_event(event: Event, kind: str = "valid", payload: dict[str, object] | None = None) -> Record:
    """Returns the record of an event as it is, or with another payload."""
    body = event.payload if payload is None else payload
    return Record(event.entity, str(body["event_id"]), event.key.encode(), encode(body), kind, body)


_TEXT_FIELD = {CUSTOMERS.entity: "name", PURCHASES.entity: "product_id", CLICKSTREAM.entity: "page_url"}
_DROPPABLE = {
    CUSTOMERS.entity: ("email", "country"),
    PURCHASES.entity: ("product_id", "quantity"),
    CLICKSTREAM.entity: ("session_id", "event_type"),
}
_WRONG_TYPE = {
    CUSTOMERS.entity: ("signup_date", "last tuesday"),
    PURCHASES.entity: ("quantity", "three"),
    CLICKSTREAM.entity: ("timestamp", 1732543200),
}


def _fresh(event: Event, seq: int, **changes: object) -> dict[str, object]:
    """A new, distinct event derived from ``event``: its own natural id, plus ``changes``, and the event id those
    identity values name (as silver derives it for a file without event ids)."""
    contract = CONTRACTS[event.entity]
    fresh = {**event.payload, contract.identity[0]: f"{event.payload[contract.identity[0]]}-f{seq}"}
    payload = {**fresh, **changes}
    # A blanked identity value names nothing: such an event keeps the id of its fresh natural id.
    named = payload if all(str(payload.get(f) or "").strip() for f in contract.identity) else fresh
    return {**payload, "event_id": contract.event_id_of(named)}


def _shift_time(event: Event, delta: timedelta) -> str:
    return iso(datetime.fromisoformat(str(event.payload[CONTRACTS[event.entity].event_time])) + delta)


def _malformed_json(event: Event, seq: int, rng: random.Random) -> Record:
    body = _fresh(event, seq)
    raw = encode(body)
    return Record(event.entity, str(body["event_id"]), event.key.encode(), raw[: len(raw) // 2], "malformed_json")


def _missing_field(event: Event, seq: int, rng: random.Random) -> Record:
    body = _fresh(event, seq)
    del body[rng.choice(_DROPPABLE[event.entity])]
    return from_event(event, "missing_field", body)


def _wrong_type(event: Event, seq: int, rng: random.Random) -> Record:
    field, value = _WRONG_TYPE[event.entity]
    return from_event(event, "wrong_type", _fresh(event, seq, **{field: value}))


def _nonpositive_quantity(event: Event, seq: int, rng: random.Random) -> Record:
    return from_event(event, "nonpositive_quantity", _fresh(event, seq, quantity=rng.choice((0, -1, -3))))


def _negative_price(event: Event, seq: int, rng: random.Random) -> Record:
    return from_event(event, "negative_price", _fresh(event, seq, price=-round(rng.uniform(0.01, 50), 2)))


def _invalid_email(event: Event, seq: int, rng: random.Random) -> Record:
    bad = rng.choice(("jane.doe.example.com", "no-at-sign", "two@@example.com", "trailing@"))
    return from_event(event, "invalid_email", _fresh(event, seq, email=bad))


def _unknown_event_type(event: Event, seq: int, rng: random.Random) -> Record:
    return from_event(event, "unknown_event_type", _fresh(event, seq, event_type=rng.choice(("teleport", "hover"))))


def _invalid_url(event: Event, seq: int, rng: random.Random) -> Record:
    bad = rng.choice(("http://[shop.example.com/product", "/product/P0001 2", "ht tp://shop.example.com/"))
    return from_event(event, "invalid_url", _fresh(event, seq, page_url=bad))


def _amount_out_of_range(event: Event, seq: int, rng: random.Random) -> Record:
    # Each value fits its own column; their product does not fit the silver amount.
    return from_event(event, "amount_out_of_range", _fresh(event, seq, quantity=2_000_000_000, price=99_999_999.99))


def _empty_key(event: Event, seq: int, rng: random.Random) -> Record:
    contract = CONTRACTS[event.entity]
    key = rng.choice(sorted({contract.key, contract.identity[0]}))
    return from_event(event, "empty_key", _fresh(event, seq, **{key: " "}))  # blank survives a CSV round trip


def _timestamp_out_of_range(event: Event, seq: int, rng: random.Random) -> Record:
    broken_clock = rng.choice(("0001-01-01T00:00:00.000Z", "1900-01-01T00:00:00.000Z"))
    changes = {CONTRACTS[event.entity].event_time: broken_clock}
    return from_event(event, "timestamp_out_of_range", _fresh(event, seq, **changes))


def _late_event(event: Event, seq: int, rng: random.Random) -> Record:
    late = _shift_time(event, -timedelta(days=rng.uniform(3, 30)))
    return from_event(event, "late_event", _fresh(event, seq, **{CONTRACTS[event.entity].event_time: late}))


def _future_timestamp(event: Event, seq: int, rng: random.Random) -> Record:
    future = _shift_time(event, timedelta(days=365 * rng.randint(20, 80)))
    return from_event(event, "future_timestamp", _fresh(event, seq, **{CONTRACTS[event.entity].event_time: future}))


def _oversized_value(event: Event, seq: int, rng: random.Random) -> Record:
    field = _TEXT_FIELD[event.entity]
    return from_event(event, "oversized_value", _fresh(event, seq, **{field: "x" * OVERSIZED_CHARS}))


def _invalid_utf8(event: Event, seq: int, rng: random.Random) -> Record:
    body = _fresh(event, seq)
    raw = encode(body).replace(b'"', b'"\xff\xfe', 1)  # invalid bytes inside the first JSON string
    return Record(event.entity, str(body["event_id"]), event.key.encode(), raw, "invalid_utf8", None)


def _unknown_field(event: Event, seq: int, rng: random.Random) -> Record:
    return from_event(event, "unknown_field", _fresh(event, seq, loyalty_tier=rng.choice(("gold", "silver"))))


def _unknown_customer(event: Event, seq: int, rng: random.Random) -> Record:
    return from_event(event, "unknown_customer", _fresh(event, seq, customer_id=f"C9{rng.randint(0, 10**6):07d}"))


def _exact_duplicate(event: Event, seq: int, rng: random.Random) -> Record:
    return from_event(event, "exact_duplicate")


def _conflicting_duplicate(event: Event, seq: int, rng: random.Random) -> Record:
    field = _TEXT_FIELD[event.entity]
    return from_event(event, "conflicting_duplicate", {**event.payload, field: f"{event.payload[field]}-changed"})


Fault = Callable[[Event, int, random.Random], Record]
ALL_ENTITIES = tuple(CONTRACTS)


@dataclass(frozen=True)
class FaultKind:
    """One kind of bad record: its name, how it is made, and the entities it applies to."""

    name: str
    make: Fault
    entities: tuple[str, ...] = ALL_ENTITIES


FAULTS: dict[str, FaultKind] = {
    f.name: f
    for f in (
        FaultKind("malformed_json", _malformed_json),
        FaultKind("missing_field", _missing_field),
        FaultKind("wrong_type", _wrong_type),
        FaultKind("nonpositive_quantity", _nonpositive_quantity, (PURCHASES.entity,)),
        FaultKind("negative_price", _negative_price, (PURCHASES.entity,)),
        FaultKind("invalid_email", _invalid_email, (CUSTOMERS.entity,)),
        FaultKind("unknown_event_type", _unknown_event_type, (CLICKSTREAM.entity,)),
        FaultKind("exact_duplicate", _exact_duplicate),
        FaultKind("conflicting_duplicate", _conflicting_duplicate),
        FaultKind("late_event", _late_event),
        FaultKind("future_timestamp", _future_timestamp),
        FaultKind("oversized_value", _oversized_value),
        FaultKind("invalid_utf8", _invalid_utf8),
        FaultKind("unknown_field", _unknown_field),
        FaultKind("unknown_customer", _unknown_customer, (PURCHASES.entity,)),
        FaultKind("invalid_url", _invalid_url, (CLICKSTREAM.entity,)),
        FaultKind("amount_out_of_range", _amount_out_of_range, (PURCHASES.entity,)),
        FaultKind("empty_key", _empty_key),
        FaultKind("timestamp_out_of_range", _timestamp_out_of_range),
    )
}
BAD_KINDS: tuple[str, ...] = tuple(FAULTS)
DUPLICATE_KINDS = ("exact_duplicate", "conflicting_duplicate")


def make_fault(kind: str, candidates: list[Event], seq: int, rng: random.Random) -> Record:
    """Returns a bad record of ``kind`` made from one of ``candidates`` (valid events already emitted)."""
    fault = FAULTS[kind]
    pool = [e for e in candidates if e.entity in fault.entities]
    return replace(fault.make(rng.choice(pool), seq, rng), kind=kind)
