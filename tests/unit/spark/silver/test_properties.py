"""Property-based: nothing a producer can send makes the row checks, the cleaning or the serving columns raise. Every
row ends in exactly one place: silver (it passed every rule, and its cleaned values hold the pandera gate) or the
quarantine (with at least one named reason).

Hypothesis draws the inputs (its edge cases included: empty and huge strings, surrogates, year 1 and 9999, offsets,
giant integers); they go through Spark as one batch per property, since one Spark job per example would cost
minutes. A failure names the first input that breaks, so it can be kept as a regression case.
"""

import csv
import io
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pyspark.sql.functions as F
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from retail.contracts import CONTRACTS
from retail.generator import GeneratorConfig, generate
from spark.bronze.transforms import csv_lines_to_bronze
from spark.silver.job import _keyed, _keys_of
from spark.silver.quality import gate
from spark.silver.transforms import clean, csv_records, parse_payload, serving_columns, typed, violations

EXAMPLES = 1000
INGESTED_AT = datetime(2026, 6, 1, tzinfo=UTC)
BRONZE_SCHEMA = (
    "entity string, value binary, topic string, partition int, offset long, kafka_timestamp timestamp, "
    "ingested_at timestamp, batch_id int"
)

ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=30))])
DATETIMES = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59), timezones=ZONES)
TIMESTAMPS = st.one_of(
    DATETIMES.map(datetime.isoformat),
    DATETIMES.map(lambda t: t.isoformat(sep=" ")),
    DATETIMES.map(lambda t: t.strftime("%Y-%m-%d")),
    st.from_regex(
        r"-?\d{1,6}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?", fullmatch=True
    ),
)
NUMBERS = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.from_regex(r"-?\d{1,40}(\.\d{1,20})?([eE][+-]?\d{1,4})?", fullmatch=True),
)
TEXTS = st.one_of(
    st.text(),
    st.sampled_from(["", " ", "\t\n", "null", "NaN", "Infinity", "http://[bad", "https://x/%zz", "javascript:1"]),
    st.builds(str.__add__, st.sampled_from(["http://", "https://", "ftp://", "//", "http://[", ""]), st.text()),
    st.text(min_size=4000, max_size=5000, alphabet="ab"),
)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXTS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
VALUES = st.one_of(TIMESTAMPS, NUMBERS, TEXTS, JSON)


def drawn(strategy, examples: int = EXAMPLES) -> list:
    """Returns ``examples`` inputs drawn by Hypothesis from ``strategy``."""
    values = []

    @settings(
        max_examples=examples,
        database=None,
        derandomize=True,  # the same inputs on every run: CI never meets a new one by chance
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(value):
        values.append(value)

    draw()
    return values


def bases(entity: str) -> list[dict]:
    """Valid payloads of ``entity`` from the generator, for the properties to break a few fields of."""
    records = itertools.islice(generate(GeneratorConfig(seed=11)), 600)
    return [r.payload for r in records if r.entity == entity][:50]


def payloads(entity: str):
    """A valid payload with up to three fields set to anything, up to two left out, or a stray field added."""
    names = list(CONTRACTS[entity].names)
    changes = st.dictionaries(st.sampled_from([*names, "stray", ""]), VALUES, max_size=3)
    dropped = st.sets(st.sampled_from(names), max_size=2)
    return st.builds(
        lambda base, change, drop: {k: v for k, v in {**base, **change}.items() if k not in drop},
        st.sampled_from(bases(entity)),
        changes,
        dropped,
    )


def encoded(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")  # lone surrogates: not UTF-8


def kafka_batch(spark, entity: str, values: list[bytes]):
    rows = [(entity, v, entity, 0, i, INGESTED_AT, INGESTED_AT, 0) for i, v in enumerate(values)]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


def every_row_lands(bronze, contract) -> None:
    """Asserts the property on one bronze batch of ``contract``'s entity; raises what the platform would raise."""
    checked = violations(typed(parse_payload(bronze, contract), contract), contract)
    offsets = sorted(r.offset for r in checked.select("offset").collect())
    assert offsets == sorted(r.offset for r in bronze.select("offset").collect())  # none lost, none doubled
    passed = checked.where(F.size("violations") == 0).dropDuplicates(["event_id"])  # the judge keeps one per id
    gate(clean(passed, contract), contract).toArrow()  # silver's pandera gate holds for every passing row
    serving_columns(checked, contract).toArrow()  # the serving query computes every row before it skips bad ones
    _keys_of(_keyed(bronze, contract, retried=False))  # what the driver judges every row on


def assert_lands(spark, contract, values: list, to_bronze) -> None:
    """Runs the property on all ``values`` at once; when it breaks, finds and names the first value that does."""
    try:
        every_row_lands(to_bronze(values), contract)
    except Exception as err:
        for value in values:
            try:
                every_row_lands(to_bronze([value]), contract)
            except Exception as single:
                raise AssertionError(f"{contract.entity} input {value!r} broke the row path: {single}") from single
        raise AssertionError(f"the batch broke, yet no single input did: {err}") from err


@pytest.mark.parametrize("entity", list(CONTRACTS))
def test_any_json_object_lands_in_silver_or_quarantine(spark, entity):
    values = [encoded(p) for p in drawn(payloads(entity))]

    assert_lands(spark, CONTRACTS[entity], values, lambda vs: kafka_batch(spark, entity, vs))


# What a field of each contract type must never take (its value coerced into text or read from it): any JSON value
# but text where text belongs, and text, booleans, objects and arrays where a number belongs (money may be text).
CONTAINERS = st.lists(JSON, max_size=3) | st.dictionaries(st.text(max_size=5), JSON, max_size=3)
NOT_TEXT = st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), CONTAINERS)
WRONG_KINDS = {
    "string": NOT_TEXT,
    "timestamp": NOT_TEXT,
    "int": st.one_of(TEXTS, NUMBERS.map(str), st.booleans(), CONTAINERS),
    "decimal(10,2)": st.one_of(st.booleans(), CONTAINERS),
}


def wrong_kinds(entity: str):
    """A valid payload with one field set to a value of a JSON kind its type does not take, and that field."""
    contract = CONTRACTS[entity]
    types = {"event_id": "string", **{c.name: c.type for c in contract.columns}}
    field = st.sampled_from(contract.names)
    return st.builds(
        lambda base, pair: ({**base, pair[0]: pair[1]}, pair[0]),
        st.sampled_from(bases(entity)),
        field.flatmap(lambda name: WRONG_KINDS[types[name]].map(lambda value: (name, value))),
    )


@pytest.mark.parametrize("entity", list(CONTRACTS))
def test_a_value_of_the_wrong_json_kind_is_named_for_its_field(spark, entity):
    contract = CONTRACTS[entity]
    cases = drawn(wrong_kinds(entity), examples=300)
    # Escaped (ASCII) JSON: no value becomes invalid UTF-8, which would hide every field's reason behind its own.
    bronze = kafka_batch(spark, entity, [json.dumps(payload).encode() for payload, _ in cases])

    checked = violations(typed(parse_payload(bronze, contract), contract), contract)

    found = {r.offset: set(r.violations) for r in checked.select("offset", "violations").collect()}
    unnamed = [
        (cases[i][0][cases[i][1]], codes) for i, codes in found.items() if f"wrong_type:{cases[i][1]}" not in codes
    ]
    assert len(found) == len(cases) and not unnamed, unnamed[:5]


def test_any_bytes_land_in_quarantine_with_a_reason(spark):
    values = drawn(st.one_of(st.binary(max_size=300), JSON.map(lambda v: json.dumps(v).encode())))
    contract = CONTRACTS["customers"]

    assert_lands(spark, contract, values, lambda vs: kafka_batch(spark, contract.entity, vs))
    checked = violations(
        typed(parse_payload(kafka_batch(spark, contract.entity, values), contract), contract), contract
    )
    assert checked.where(F.size("violations") == 0).count() == 0  # no random bytes make a whole valid customer


def _csv_line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue().encode("utf-8", "surrogatepass").decode("utf-8", "replace")  # a file's text is decoded


@pytest.mark.parametrize("entity", list(CONTRACTS))
def test_any_csv_line_lands_in_silver_or_quarantine(spark, entity, tmp_path):
    contract = CONTRACTS[entity]
    names = list(contract.names)
    cells = st.one_of(VALUES.map(lambda v: v if isinstance(v, str) else json.dumps(v)), st.just(""))
    rows = st.builds(
        lambda base, change, width: [str(change.get(n, base.get(n) or "")) for n in names][:width],
        st.sampled_from(bases(entity)),
        st.dictionaries(st.sampled_from(names), cells, max_size=3),
        st.integers(min_value=len(names) - 1, max_value=len(names) + 1),
    )
    lines = [_csv_line(row) for row in drawn(rows)]

    def to_bronze(values):
        """As ingest does it: the lines land in bronze (Parquet), silver reads them from there."""
        text = [(",".join(names), 1), *((v, i + 2) for i, v in enumerate(values))]
        raw = csv_lines_to_bronze(spark.createDataFrame(text, "value string, line_number int"), contract, "f.csv")
        landed = str(tmp_path / f"bronze-{len(values)}-{uuid.uuid4().hex}")
        raw.withColumn("batch_id", F.lit(0)).write.parquet(landed)
        return csv_records(spark.read.parquet(landed), contract)

    assert_lands(spark, contract, lines, to_bronze)
