import itertools
import json
import re
from collections import Counter
from datetime import datetime, timedelta

import pytest

from retail.contracts import CONTRACTS, EVENT_TYPES
from retail.generator import BAD_KINDS, GeneratorConfig, generate

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
NATURAL_ID = {"customers": "customer_id", "purchases": "order_id", "clickstream": "session_id"}


def take(n: int, **config) -> list:
    return list(itertools.islice(generate(GeneratorConfig(**config)), n))


def event_time(entity: str, payload: dict) -> datetime:
    return datetime.fromisoformat(payload[CONTRACTS[entity].event_time])


def test_same_seed_same_bytes_other_seed_other_events():
    a = [(r.key, r.value, r.kind) for r in take(3000, seed=7, bad_fraction=0.1)]
    b = [(r.key, r.value, r.kind) for r in take(3000, seed=7, bad_fraction=0.1)]
    c = [(r.key, r.value, r.kind) for r in take(3000, seed=8, bad_fraction=0.1)]

    assert a == b
    assert a != c


def test_two_datasets_never_share_an_id_and_a_resend_keeps_its_own():
    """Every pipeline run picks a new seed: its events, bad ones included, must not take another run's ids."""
    runs = [take(4000, seed=seed, bad_fraction=0.1) for seed in (1_764_680_000, 1_764_680_001)]
    ids = [{r.event_id for r in run} for run in runs]
    naturals = [{str((r.payload or {}).get(NATURAL_ID[r.entity], "")).strip() for r in run} - {""} for run in runs]

    assert not ids[0] & ids[1]
    assert not naturals[0] & naturals[1]
    resent = [r for r in runs[0] if r.kind == "exact_duplicate"]
    originals = {r.event_id: r.value for r in runs[0] if r.kind == "valid"}
    assert resent and all(originals[r.event_id] == r.value for r in resent)


def test_valid_events_follow_their_contract_and_relate():
    records = take(5000)
    payloads = [(r.entity, json.loads(r.value)) for r in records]
    customers = {p["customer_id"] for e, p in payloads if e == "customers"}
    by_entity = Counter(e for e, _ in payloads)

    assert {r.kind for r in records} == {"valid"}
    assert len({r.event_id for r in records}) == len(records)
    assert all(set(p) == set(CONTRACTS[e].names) for e, p in payloads)
    assert all(by_entity[e] > 0 for e in CONTRACTS)
    assert all(p["customer_id"] in customers for e, p in payloads if e == "purchases")
    assert all(EMAIL.match(p["email"]) for e, p in payloads if e == "customers")
    assert all(p["quantity"] > 0 and p["price"] >= 0 for e, p in payloads if e == "purchases")
    assert {p["event_type"] for e, p in payloads if e == "clickstream"} == set(EVENT_TYPES)


def test_every_purchase_closes_a_session_that_viewed_carted_and_bought_it():
    payloads = [(r.entity, json.loads(r.value)) for r in take(5000)]
    sessions: dict[str, list[dict]] = {}
    for entity, p in payloads:
        if entity == "clickstream":
            sessions.setdefault(p["session_id"], []).append(p)

    for entity, p in payloads:
        if entity == "purchases":
            steps = sessions["S" + p["order_id"][1:]]
            funnel = [s["event_type"] for s in steps if s["product_id"] == p["product_id"]]
            assert funnel[-3:] == ["page_view", "add_to_cart", "purchase"]
            assert event_time("purchases", p) >= event_time("clickstream", steps[-1])


def test_bad_fraction_is_met_and_every_kind_appears():
    records = take(20_000, bad_fraction=0.05)
    kinds = Counter(r.kind for r in records)

    assert sum(n for k, n in kinds.items() if k != "valid") / len(records) == pytest.approx(0.05, abs=0.002)
    assert set(kinds) - {"valid"} == set(BAD_KINDS)


def _decodes(value: bytes) -> dict | None:
    try:
        return json.loads(value)
    except ValueError:
        return None


def _base(records, record, payload):
    """The valid event a fresh fault was made from: same natural id without the '-f<seq>' suffix."""
    field = NATURAL_ID[record.entity]
    base_id = re.sub(r"-f\d+$", "", payload[field])
    return [
        json.loads(r.value)
        for r in records
        if r.kind == "valid" and r.entity == record.entity and json.loads(r.value)[field] == base_id
    ]


def check(kind: str, record, payload, records, seen) -> bool:
    names = set(CONTRACTS[record.entity].names)
    if kind == "malformed_json":
        return payload is None and record.value.decode().startswith("{")
    if kind == "invalid_utf8":
        try:
            record.value.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False
    if kind == "exact_duplicate":
        return seen.get(record.event_id) == record.value
    if kind == "conflicting_duplicate":
        return record.event_id in seen and seen[record.event_id] != record.value
    assert payload is not None
    checks = {
        "missing_field": lambda: len(names - set(payload)) == 1,
        "wrong_type": lambda: (
            any(isinstance(payload.get(f), t) for f, t in (("quantity", str), ("timestamp", int)))
            or payload.get("signup_date") == "last tuesday"
        ),
        "nonpositive_quantity": lambda: payload["quantity"] <= 0,
        "negative_price": lambda: payload["price"] < 0,
        "invalid_email": lambda: not EMAIL.match(payload["email"]),
        "unknown_event_type": lambda: payload["event_type"] not in EVENT_TYPES,
        "late_event": lambda: all(
            event_time(record.entity, payload) < event_time(record.entity, b) - timedelta(days=2)
            for b in _base(records, record, payload)
        ),
        "future_timestamp": lambda: event_time(record.entity, payload).year >= 2045,
        "oversized_value": lambda: len(record.value) > 64 * 1024,
        "unknown_field": lambda: set(payload) - names == {"loyalty_tier"},
        "unknown_customer": lambda: payload["customer_id"].startswith("C9"),
        "invalid_url": lambda: " " in payload["page_url"] or "[" in payload["page_url"],
        "amount_out_of_range": lambda: payload["quantity"] * payload["price"] >= 10**10,
        "empty_key": lambda: any(v == " " for v in payload.values()),
        "timestamp_out_of_range": lambda: event_time(record.entity, payload).year < 1970,
    }
    return checks[kind]()


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_each_bad_kind_is_what_its_label_says(kind):
    records = take(3000, bad_fraction=0.1, bad_kinds=(kind,))
    labelled = [r for r in records if r.kind == kind]
    seen: dict[str, bytes] = {}
    verdicts = []
    for r in records:
        if r.kind == kind:
            verdicts.append(check(kind, r, _decodes(r.value), records, seen))
        if r.kind == "valid":
            seen[r.event_id] = r.value

    assert len(labelled) / len(records) == pytest.approx(0.1, abs=0.01)
    assert all(verdicts)


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown bad record kinds"):
        GeneratorConfig(bad_kinds=("gremlins",))


def test_shards_make_the_unsharded_events_between_them_and_never_the_same_one():
    shards = [take(3000, seed=5, bad_fraction=0.05, shard=i, shards=2) for i in range(2)]
    ids = [{r.event_id for r in shard} for shard in shards]
    unsharded_valid = {r.event_id for r in take(12000, seed=5) if r.kind == "valid"}

    assert not ids[0] & ids[1]
    for shard in shards:
        assert {r.event_id for r in shard if r.kind == "valid"} <= unsharded_valid
        assert Counter(r.kind for r in shard)["valid"] < len(shard)  # bad records in every shard


def test_a_shard_outside_its_count_is_a_clear_error():
    with pytest.raises(ValueError, match="shard must be in"):
        GeneratorConfig(shard=2, shards=2)
