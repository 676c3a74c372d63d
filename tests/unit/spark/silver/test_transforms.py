"""Every bad-record kind the generator makes, through the silver row checks: the right rule, and only it."""

import itertools
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from retail.contracts import CONTRACTS
from retail.generator import BAD_KINDS, GeneratorConfig, generate
from spark.silver.transforms import parse_payload, typed, violations

INGESTED_AT = datetime(2026, 6, 1, tzinfo=UTC)
BRONZE_SCHEMA = (
    "entity string, value binary, topic string, partition int, offset long, kafka_timestamp timestamp, "
    "ingested_at timestamp, batch_id int"
)
# What the row rules say of each kind. Duplicates, late events and unknown customers pass the row rules: the job
# judges them against what silver already holds.
EXPECTED = {
    "valid": set(),
    "malformed_json": {"malformed_json"},
    "invalid_utf8": {"invalid_utf8"},
    "unknown_field": {"unknown_field"},
    "oversized_value": {"oversized_value"},
    "future_timestamp": {"future_timestamp"},
    "invalid_email": {"invalid_email"},
    "nonpositive_quantity": {"nonpositive_quantity"},
    "negative_price": {"negative_price"},
    "unknown_event_type": {"unknown_event_type"},
    "invalid_url": {"invalid_url"},
    "amount_out_of_range": {"amount_out_of_range"},
    "timestamp_out_of_range": {"timestamp_out_of_range"},
    "exact_duplicate": set(),
    "conflicting_duplicate": set(),
    "late_event": set(),
    "unknown_customer": set(),
}


def sample(kind: str) -> list:
    """A few records of ``kind`` (and the valid ones around them) from the generator."""
    kinds = (kind,) if kind != "valid" else BAD_KINDS
    records = list(itertools.islice(generate(GeneratorConfig(seed=3, bad_fraction=0.2, bad_kinds=kinds)), 800))
    return [r for r in records if r.kind == kind][:12]


def check(spark, records) -> dict[tuple[str, str], set[str]]:
    bronze = spark.createDataFrame(
        [(r.entity, r.value, r.entity, 0, i, INGESTED_AT, INGESTED_AT, 0) for i, r in enumerate(records)], BRONZE_SCHEMA
    )
    found = {}
    for contract in CONTRACTS.values():
        rows = violations(typed(parse_payload(bronze, contract), contract), contract)
        for row in rows.select("offset", "violations").collect():
            found[(contract.entity, records[row.offset].event_id)] = set(row.violations)
    return found


@pytest.mark.parametrize("kind", ["valid", *BAD_KINDS])
def test_each_generated_kind_breaks_exactly_its_rules(spark, kind):
    records = sample(kind)
    found = check(spark, records)

    assert records, f"the generator made no {kind} record"
    for record in records:
        codes = found[(record.entity, record.event_id)]
        if kind == "missing_field":
            assert len(codes) == 1 and next(iter(codes)).startswith("missing_field:"), codes
        elif kind == "wrong_type":
            assert len(codes) == 1 and next(iter(codes)).startswith("wrong_type:"), codes
        elif kind == "empty_key":
            assert len(codes) == 1 and next(iter(codes)).startswith("empty_key:"), codes
        else:
            assert codes == EXPECTED[kind], (record.value[:200], codes)


@pytest.mark.parametrize(
    ("entity", "payload", "codes"),
    [
        (
            "customers",
            '{"event_id":"e","customer_id":"C1","name":"A","email":" a@b.io ","country":"DE",'
            '"signup_date":"2026-01-01T00:00:00Z"}',
            set(),
        ),
        (
            "customers",
            '{"event_id":"e","customer_id":"C1","name":"A","email":"a@b","country":"DE",'
            '"signup_date":"2026-01-01T00:00:00Z"}',
            {"invalid_email"},
        ),
        (
            "purchases",
            '{"event_id":"e","order_id":"O","customer_id":"C","product_id":"P","quantity":1,"price":0,'
            '"purchase_date":"2026-01-01T00:00:00Z"}',
            set(),
        ),
        (
            "purchases",
            '{"event_id":"e","order_id":"O","customer_id":"C","product_id":"P","quantity":2.5,"price":1,'
            '"purchase_date":"2026-01-01T00:00:00Z"}',
            {"wrong_type:quantity"},
        ),
        (
            "purchases",
            '{"event_id":"e","order_id":"O","customer_id":"C","product_id":"P","quantity":0,"price":-1,'
            '"purchase_date":"2026-01-01T00:00:00Z"}',
            {"nonpositive_quantity", "negative_price"},
        ),
        (
            "clickstream",
            '{"event_id":"e","user_id":"C","session_id":"S","page_url":"/","event_type":"add_to_cart",'
            '"product_id":null,"timestamp":"2026-01-01T00:00:00Z"}',
            {"product_id_required"},
        ),
        (
            "clickstream",
            '{"event_id":"e","user_id":"C","session_id":"S","page_url":"/","event_type":"page_view",'
            '"timestamp":"2026-01-01T00:00:00Z"}',
            set(),
        ),
        (
            "clickstream",
            '{"event_id":"e","user_id":"C","session_id":"S","page_url":"/","event_type":"page_view",'
            '"timestamp":"2026-06-03T00:00:00Z"}',
            {"future_timestamp"},
        ),
        ("clickstream", "[1, 2]", {"malformed_json"}),
    ],
)
def test_rules_table(spark, entity, payload, codes):
    bronze = spark.createDataFrame(
        [(entity, payload.encode(), entity, 0, 0, INGESTED_AT, INGESTED_AT, 0)], BRONZE_SCHEMA
    )
    contract = CONTRACTS[entity]

    row = violations(typed(parse_payload(bronze, contract), contract), contract).collect()[0]

    assert set(row.violations) == codes


def _clean_one(spark, entity: str, payload: str):
    from spark.silver.transforms import clean

    contract = CONTRACTS[entity]
    bronze = spark.createDataFrame(
        [(entity, payload.encode(), entity, 0, 0, INGESTED_AT, INGESTED_AT, 0)], BRONZE_SCHEMA
    )
    return clean(typed(parse_payload(bronze, contract), contract), contract).collect()[0]


def test_customers_are_normalised(spark):
    row = _clean_one(
        spark,
        "customers",
        '{"event_id":"e","customer_id":"C1","name":"  Ann   Lee ","email":" Ann.Lee@Example.COM ","country":" de",'
        '"signup_date":"2026-01-01T10:00:00.250Z"}',
    )

    assert (row.name, row.email, row.email_domain, row.country) == (
        "Ann Lee",
        "ann.lee@example.com",
        "example.com",
        "DE",
    )
    assert (row.signup_date, str(row.event_date)) == (datetime(2026, 1, 1, 10, 0, 0, 250000), "2026-01-01")


def test_purchase_total_is_exact_money(spark):
    row = _clean_one(
        spark,
        "purchases",
        '{"event_id":"e","order_id":"O","customer_id":"C","product_id":"P","quantity":3,"price":0.1,'
        '"purchase_date":"2026-01-01T23:59:59Z"}',
    )

    assert str(row.total_amount) == "0.30"
    assert str(row.price) == "0.10"


def test_clickstream_page_path_is_parsed(spark):
    row = _clean_one(
        spark,
        "clickstream",
        '{"event_id":"e","user_id":"C","session_id":"S","page_url":"https://shop.example.com/product/P0001?x=1",'
        '"event_type":"page_view","product_id":"P0001","timestamp":"2026-01-01T00:00:00Z"}',
    )

    assert (row.page_path, row.product_id) == ("/product/P0001", "P0001")


# Records that once raised inside a micro-batch (under ANSI mode every replay failed the same way and the stream
# stopped): each now breaks a named rule, and nothing computed for it raises.
POISON = [
    (
        "clickstream",
        '{"event_id":"e","user_id":"C","session_id":"S","page_url":"http://[bad","event_type":"page_view",'
        '"timestamp":"2026-01-01T00:00:00Z"}',
        {"invalid_url"},
    ),
    (
        "purchases",
        '{"event_id":"e","order_id":"O","customer_id":"C","product_id":"P","quantity":2000000000,'
        '"price":99999999.99,"purchase_date":"2026-01-01T00:00:00Z"}',
        {"amount_out_of_range"},
    ),
    (
        "purchases",
        '{"event_id":"e","order_id":"O","customer_id":"","product_id":"P","quantity":1,"price":1,'
        '"purchase_date":"2026-01-01T00:00:00Z"}',
        {"empty_key:customer_id"},
    ),
    (
        "clickstream",
        '{"event_id":"e","user_id":"C","session_id":" ","page_url":"/","event_type":"page_view",'
        '"timestamp":"2026-01-01T00:00:00Z"}',
        {"empty_key:session_id"},
    ),
    (
        "customers",
        '{"event_id":"","customer_id":"C1","name":"A","email":"a@b.io","country":"DE",'
        '"signup_date":"2026-01-01T00:00:00Z"}',
        {"empty_key:event_id"},
    ),
    (
        "customers",
        '{"event_id":"e","customer_id":"C1","name":"A","email":"a@b.io","country":"DE",'
        '"signup_date":"0001-01-01T00:00:00Z"}',
        {"timestamp_out_of_range"},
    ),
]


@pytest.mark.parametrize(("entity", "payload", "codes"), POISON)
def test_a_poison_record_is_named_and_raises_nothing(spark, entity, payload, codes):
    from spark.silver.transforms import serving_columns

    bronze = spark.createDataFrame(
        [(entity, payload.encode(), entity, 0, 0, INGESTED_AT, INGESTED_AT, 0)], BRONZE_SCHEMA
    )
    contract = CONTRACTS[entity]
    checked = violations(typed(parse_payload(bronze, contract), contract), contract)

    assert set(checked.select("violations").collect()[0].violations) == codes
    # The serving query computes the Cassandra columns of every row (as Arrow) before it skips the broken ones.
    assert serving_columns(checked, contract).toArrow().num_rows == 1


def test_an_event_without_an_id_is_named_by_its_identity_as_the_generator_names_it(spark):
    """The same event through Kafka (with its id) and in a shop's export (without it) must be one event: silver's
    derived id equals the id the contract gives in Python, for every entity, offsets and all."""
    records = [r for r in itertools.islice(generate(GeneratorConfig(seed=5)), 300)]
    stripped = []
    for i, r in enumerate(records):
        payload = {k: v for k, v in r.payload.items() if k != "event_id"}
        if i % 2:  # the same instant written with another offset, as exports do
            field = CONTRACTS[r.entity].event_time
            payload[field] = datetime.fromisoformat(payload[field]).astimezone(timezone(timedelta(hours=5))).isoformat()
        stripped.append(r.__class__(r.entity, r.event_id, r.key, json.dumps(payload).encode(), r.kind, payload))
    found = {}
    bronze = spark.createDataFrame(
        [(r.entity, r.value, r.entity, 0, i, INGESTED_AT, INGESTED_AT, 0) for i, r in enumerate(stripped)],
        BRONZE_SCHEMA,
    )
    for contract in CONTRACTS.values():
        rows = violations(typed(parse_payload(bronze, contract), contract), contract)
        found |= {row.offset: (row.event_id, list(row.violations)) for row in rows.collect()}
    assert {i: found[i] for i in range(len(records))} == {i: (r.event_id, []) for i, r in enumerate(records)}
    assert {r.entity for r in records} == set(CONTRACTS)


def test_an_event_missing_an_identity_value_gets_no_id_and_is_named_for_the_field(spark):
    bronze = spark.createDataFrame(
        [
            (
                "clickstream",
                b'{"user_id":"C","page_url":"/","event_type":"page_view","timestamp":"2026-05-01"}',
                "t",
                0,
                0,
                INGESTED_AT,
                INGESTED_AT,
                0,
            )
        ],
        BRONZE_SCHEMA,
    )
    row = violations(
        typed(parse_payload(bronze, CONTRACTS["clickstream"]), CONTRACTS["clickstream"]), CONTRACTS["clickstream"]
    ).first()
    assert row.event_id is None and list(row.violations) == ["missing_field:session_id"]
