"""A value of the wrong JSON kind, through silver's row checks on real (local) Spark: an object, array, number or
boolean where text belongs, and text where a number belongs, is a named reason (``wrong_type:<field>``), never
coerced into text; valid rows, and CSV rows (all text), are judged as before."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from retail.contracts import CONTRACTS, PURCHASES
from spark.silver.transforms import csv_records, parse_payload, typed, violations

INGESTED_AT = datetime(2026, 6, 1, tzinfo=UTC)
BRONZE_SCHEMA = (
    "entity string, value binary, topic string, partition int, offset long, kafka_timestamp timestamp, "
    "ingested_at timestamp, batch_id int"
)
VALID = {
    "customers": {
        "event_id": "e",
        "customer_id": "C1",
        "name": "Ann",
        "email": "ann@example.com",
        "country": "DE",
        "signup_date": "2026-01-01T00:00:00Z",
    },
    "purchases": {
        "event_id": "e",
        "order_id": "O1",
        "customer_id": "C1",
        "product_id": "P1",
        "quantity": 2,
        "price": 9.99,
        "purchase_date": "2026-01-01T00:00:00Z",
    },
    "clickstream": {
        "event_id": "e",
        "user_id": "C1",
        "session_id": "S1",
        "page_url": "/product/P1",
        "event_type": "page_view",  # product_id optional: its wrong kinds break no rule of the event type
        "product_id": "P1",
        "timestamp": "2026-01-01T00:00:00Z",
    },
}
# Values of each JSON kind a field of that contract type does not take. 2026 would cast to a timestamp and 3.0 to a
# string: only their JSON kind tells them apart. Money may be text (it keeps its digits): see VALID_VARIANTS.
WRONG = {
    "string": [{"a": 1}, ["x"], [], 42, 3.0, True],
    "timestamp": [{"at": "2026-01-01"}, ["2026-01-01T00:00:00Z"], 2026, 1732543200, False],
    "int": ["2", "three", "", {"n": 2}, [2], True],
    "decimal(10,2)": [{"amount": 1}, [9.99], True],
}


def _bronze(spark, entity: str, payloads: list[dict]):
    """Kafka bronze rows of ``payloads``, at offsets 0, 1, ..."""
    rows = [(entity, json.dumps(p).encode(), entity, 0, i, INGESTED_AT, INGESTED_AT, 0) for i, p in enumerate(payloads)]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


def _checked(spark, entity: str, payloads: list[dict]) -> list[set[str]]:
    contract = CONTRACTS[entity]
    checked = violations(typed(parse_payload(_bronze(spark, entity, payloads), contract), contract), contract)
    return [set(r.violations) for r in sorted(checked.collect(), key=lambda r: r.offset)]


@pytest.mark.parametrize("entity", list(CONTRACTS))
def test_a_value_of_a_kind_its_field_does_not_take_is_named_for_the_field(spark, entity):
    contract = CONTRACTS[entity]
    types = {"event_id": "string", **{c.name: c.type for c in contract.columns}}
    cases = [(name, value) for name in contract.names for value in WRONG[types[name]]]

    found = _checked(spark, entity, [{**VALID[entity], name: value} for name, value in cases])

    assert {case: codes for case, codes in zip(map(repr, cases), found, strict=True)} == {
        repr((name, value)): {f"wrong_type:{name}"} for name, value in cases
    }


VALID_VARIANTS = [
    ("customers", {}),
    ("purchases", {}),
    ("clickstream", {}),
    ("clickstream", {"product_id": None}),  # an optional field may be JSON null
    ("purchases", {"price": "9.99"}),  # money as text keeps its exact digits
    ("purchases", {"price": 0, "quantity": 1}),
    ("purchases", {"price": 1e1}),
]


@pytest.mark.parametrize(("entity", "changes"), VALID_VARIANTS)
def test_a_value_of_a_kind_its_field_takes_stays_valid(spark, entity, changes):
    assert _checked(spark, entity, [{**VALID[entity], **changes}]) == [set()]


def test_money_as_text_is_the_same_money(spark):
    bronze = _bronze(spark, "purchases", [{**VALID["purchases"], "price": p} for p in (9.99, "9.99", " 9.99 ")])

    prices = typed(parse_payload(bronze, PURCHASES), PURCHASES).orderBy("offset").select("price").collect()

    assert [r.price for r in prices] == [Decimal("9.99")] * 3


def test_a_csv_cell_is_text_and_only_its_cast_judges_it(spark):
    """A CSV row reaches silver as a JSON object of text cells: a number's cell is text there, and a cell holding
    JSON is text too (where text belongs, it is the text)."""
    cells = {**{k: str(v) for k, v in VALID["purchases"].items()}, "product_id": '{"a": 1}'}
    bad = {**cells, "quantity": "two"}
    bronze = spark.createDataFrame(
        [
            ("purchases", *(row[n] for n in PURCHASES.names), None, "raw", "f.csv", line, None, INGESTED_AT, 0)
            for line, row in ((2, cells), (3, bad))
        ],
        "entity string, "
        + ", ".join(f"{n} string" for n in PURCHASES.names)
        + ", extra map<string,string>, raw_line string, source_file string, line_number int, parse_error string, "
        "ingested_at timestamp, batch_id int",
    )

    rows = violations(typed(parse_payload(csv_records(bronze, PURCHASES), PURCHASES), PURCHASES), PURCHASES)

    found = {r.offset: (set(r.violations), r.quantity, r.product_id) for r in rows.collect()}
    assert found == {2: (set(), 2, '{"a": 1}'), 3: ({"wrong_type:quantity"}, None, '{"a": 1}')}
