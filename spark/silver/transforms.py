"""Silver row checks: parse bronze payloads against the entity contract and name every rule each row breaks.
Pure DataFrame -> DataFrame functions for streaming and batch alike; routing and sinks live in the job.

Payloads are parsed with every field as a string first, then cast with try_cast, and every field's JSON kind (text,
number, boolean, object, array) is read beside it: a value of the wrong type, one that does not cast or one of a
JSON kind its field does not take (an object where text belongs, text where a number belongs), is then a named
violation (``wrong_type:<field>``), never a silently null column nor a value coerced into text. CSV rows take the
same path: ``csv_records`` gives them the shape of Kafka bronze rows (their fields as a JSON object; lineage file, 0,
line number); a CSV cell is always text, so only its cast judges it.
"""

from __future__ import annotations

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame

from retail.contracts import CLICKSTREAM, CUSTOMERS, PURCHASES, Contract
from retail.contracts.base import EVENT_NAMESPACE, IDENTITY_SEPARATOR
from spark.bronze.transforms import BLANK_LINE, CORRUPT_COLUMN, raw_schema
from spark.session import per_context

OVERSIZED_CHARS = 4096  # no legitimate text field comes near this; a bigger one is a producer bug or an attack
FUTURE_TOLERANCE = "INTERVAL 1 DAY"  # clock skew we accept between producers and the platform
EARLIEST_EVENT = "1970-01-01"  # an event time before it is a broken clock (and year 1 breaks Python's conversions)
LINEAGE = ("topic", "partition", "offset", "kafka_timestamp", "ingested_at", "batch_id")
SOURCE_ERROR = "source_error"  # why a source row could not even be read as a record (CSV: ragged_row, ...)


def csv_records(bronze_csv: DataFrame, contract: Contract) -> DataFrame:
    """Returns one Kafka-shaped bronze row per CSV bronze row that is not a blank line: its fields, surrounding
    whitespace trimmed, as a JSON object (the raw line when it did not parse, with the reason in
    ``source_error``), lineage topic = the file, partition 0, offset = line. Columns the contract does not know
    (bronze's ``extra``) stay in bronze."""
    # Empty CSV fields are null and left out of the object; a blank one stays "" (an empty key is its own reason).
    trimmed = (F.regexp_replace(F.col(n), r"^\s+|\s+$", "").alias(n) for n in contract.names)
    fields = F.to_json(F.struct(*trimmed))
    return bronze_csv.where(~F.col("parse_error").eqNullSafe(BLANK_LINE)).select(
        F.col("entity"),
        F.when(F.col("parse_error").isNull(), fields).otherwise(F.col("raw_line")).cast("binary").alias("value"),
        F.col("source_file").alias("topic"),
        F.lit(0).alias("partition"),
        F.col("line_number").cast("long").alias("offset"),
        F.lit(None).cast("timestamp").alias("kafka_timestamp"),
        F.col("ingested_at"),
        F.col("batch_id"),
        F.col("parse_error").alias(SOURCE_ERROR),
    )


def parse_payload(bronze: DataFrame, contract: Contract) -> DataFrame:
    """Returns one row per bronze record of ``contract``'s entity: lineage, the payload as text, its raw string
    fields (``raw``), each field's JSON kind (``json_kinds``), its top-level keys, whether it was valid UTF-8 and
    the source error (null for Kafka)."""
    entity, columns = _parsed(contract, SOURCE_ERROR in bronze.columns)
    return bronze.where(entity).select(*columns)


@per_context
def _parsed(contract: Contract, has_source_error: bool) -> tuple[Column, tuple[Column, ...]]:
    text = F.col("value").cast("string")
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}
    source_error = F.col(SOURCE_ERROR) if has_source_error else F.lit(None).cast("string")
    return F.col("entity") == contract.entity, (
        *(F.col(c) for c in LINEAGE),
        source_error.alias(SOURCE_ERROR),
        text.alias("payload"),
        F.from_json(text, raw_schema(contract), options).alias("raw"),
        json_kinds(text, contract).alias("json_kinds"),
        F.json_object_keys(text).alias("payload_keys"),
        F.is_valid_utf8(text).alias("is_utf8"),
    )


def json_kinds(text: Column, contract: Contract) -> Column:
    """Returns, per JSON object, a struct of each contract field's JSON kind: ``string``, ``number``, ``boolean``,
    ``object`` or ``array`` (null when the field is absent or JSON null). A string-typed parse cannot tell them
    apart (it gives an object's or a number's JSON text), so the payload is read once more as variants."""
    values = F.from_json(text, ", ".join(f"`{n}` variant" for n in contract.names))
    kinds = []
    for name in contract.names:
        schema = F.schema_of_variant(values[name])
        kind = (
            F.when(schema == "STRING", "string")
            .when(schema == "BOOLEAN", "boolean")
            .when(schema.startswith("OBJECT"), "object")
            .when(schema.startswith("ARRAY"), "array")
            .when(schema != "VOID", "number")  # BIGINT, DECIMAL(p,s) or DOUBLE, as the number is written
        )
        kinds.append(kind.alias(name))
    return F.struct(*kinds)


def _json_kinds_of(type_: str) -> tuple[str, ...]:
    """The JSON kinds a field of a contract type takes. Money may also come as text: a decimal written as a JSON
    string keeps its exact digits (and the producers' convention varies); its cast still judges the digits."""
    if type_ in ("string", "timestamp", "date"):  # a timestamp is ISO-8601 text: epoch numbers are not taken
        return ("string",)
    if type_ == "boolean":
        return ("boolean",)
    if type_.startswith("decimal"):
        return ("number", "string")
    return ("number",)


def _takes_kind(name: str, type_: str) -> Column:
    """True when the field's JSON kind is one its type takes, or there is no value. A CSV row (no Kafka timestamp)
    is all text: any cell may be read as any type, and the cast alone judges it. A value the variant reader
    refused while the string parse kept it (a lone surrogate escape, an object with a repeated key) has no kind
    and is not taken: it is never coerced."""
    kind = F.col(f"json_kinds.`{name}`")
    from_text = F.col("kafka_timestamp").isNull() & (kind == "string")
    return F.col(f"raw.`{name}`").isNull() | kind.isin(*_json_kinds_of(type_)) | from_text


def typed(parsed: DataFrame, contract: Contract) -> DataFrame:
    """Adds the contract's columns, each cast from its raw string to its contract type (null when it does not
    cast or its JSON kind is not one the type takes), the event id named by the identity when the payload has none,
    and ``payload_hash``: a hash of those typed values, equal for an exact re-send whether it came from Kafka or a
    CSV file (with or without event ids, whitespace folded), different for a conflicting one."""
    casts, event_id, payload_hash = _typed(contract)
    return parsed.select("*", *casts).withColumn("event_id", event_id).withColumn("payload_hash", payload_hash)


@per_context
def _typed(contract: Contract) -> tuple[tuple[Column, ...], Column, Column]:
    casts = tuple(
        F.when(_takes_kind(n, t), F.expr(f"try_cast(raw.`{n}` AS {t})")).alias(n) for n, t in _types(contract)
    )
    # Only an absent id is derived: one of the wrong kind stays null and is named for it.
    derived = F.when(F.col("raw.event_id").isNull(), derived_event_id(contract))
    return casts, F.coalesce(F.col("event_id"), derived), F.sha2(F.to_json(F.struct(*_comparable(contract))), 256)


def _comparable(contract: Contract) -> list[Column]:
    """The typed values as an exact re-send is compared: text with its whitespace folded (a name an export broke
    over two lines is the same name; silver folds it too)."""
    return [
        (F.regexp_replace(F.trim(F.col(n)), r"\s+", " ") if t == "string" else F.col(n)).alias(n)
        for n, t in _types(contract)
    ]


def derived_event_id(contract: Contract) -> Column:
    """Returns, over the typed columns, the event id ``contract.event_id_of`` gives in Python: UUIDv5 (SHA-1 of
    the namespace and ``<entity>:<identity values>``, version and variant bits set), null when a value is null."""
    types = dict(_types(contract))
    values = [
        F.date_format(n, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'") if types[n] == "timestamp" else F.col(n).cast("string")
        for n in contract.identity
    ]
    separated = [part for value in values for part in (F.lit(IDENTITY_SEPARATOR), value)][1:]
    name = F.concat(F.lit(f"{contract.entity}:"), *separated)  # null when any value is null
    h = F.sha1(F.concat(F.unhex(F.lit(EVENT_NAMESPACE.hex)), F.encode(name, "UTF-8")))
    variant = F.lower(F.hex(F.conv(F.substring(h, 17, 1), 16, 10).cast("int").bitwiseAND(3).bitwiseOR(8)))
    uuid = F.concat_ws(
        "-",
        F.substring(h, 1, 8),
        F.substring(h, 9, 4),
        F.concat(F.lit("5"), F.substring(h, 14, 3)),
        F.concat(variant, F.substring(h, 18, 3)),
        F.substring(h, 21, 12),
    )
    return F.when(name.isNotNull(), uuid)


def violations(rows: DataFrame, contract: Contract) -> DataFrame:
    """Adds ``violations``: the code of every row rule the row breaks (empty when it passes all of them)."""
    return rows.withColumn("violations", _violations(contract))


@per_context
def _violations(contract: Contract) -> Column:
    names = list(contract.names)
    is_json = F.col(f"raw.{CORRUPT_COLUMN}").isNull() & F.col("payload_keys").isNotNull()
    # Field rules speak of a decoded JSON object only: text that is not UTF-8 or not an object has one reason.
    field_checks: list[tuple[str, Column]] = [
        ("unknown_field", F.size(F.array_except("payload_keys", F.array(*map(F.lit, names)))) > 0),
        ("oversized_value", F.greatest(*(F.length(F.col(f"raw.`{n}`")) for n in names)) > OVERSIZED_CHARS),
        ("future_timestamp", F.col(contract.event_time) > F.col("ingested_at") + F.expr(FUTURE_TOLERANCE)),
        ("timestamp_out_of_range", F.col(contract.event_time) < F.lit(EARLIEST_EVENT).cast("timestamp")),
        # Keys a serving table is partitioned by (and the event id) may not be empty: Cassandra refuses them.
        *((f"empty_key:{n}", F.trim(F.col(f"raw.`{n}`")) == "") for n in _keys(contract)),
        *((f"missing_field:{n}", F.col(f"raw.`{n}`").isNull()) for n in contract.required),
        *((f"wrong_type:{n}", F.col(f"raw.`{n}`").isNotNull() & F.col(n).isNull()) for n, _ in _types(contract)),
        *((rule.code, F.expr(rule.violated)) for rule in contract.rules),
    ]
    checks = [
        ("invalid_utf8", ~F.col("is_utf8")),
        ("malformed_json", F.col("is_utf8") & ~is_json),
        *((code, F.col("is_utf8") & is_json & broken) for code, broken in field_checks),
    ]
    # The codes of the rules broken: the array of every rule's code or null, less its nulls. array_except compiles
    # with the rest of the row's code; a filter with a lambda would not, and would have Spark interpret every rule of
    # every row (it was most of the fresh path's CPU).
    every = F.array(*(F.when(broken, F.lit(code)) for code, broken in checks))
    flagged = F.array_except(every, F.array(F.lit(None).cast("string")))
    unreadable = F.col(SOURCE_ERROR).isNotNull()  # a row the source could not split has that one reason
    return F.when(unreadable, F.array(F.col(SOURCE_ERROR))).otherwise(flagged)


def _keys(contract: Contract) -> tuple[str, ...]:
    return tuple(dict.fromkeys(("event_id", contract.key, contract.identity[0])))


def _types(contract: Contract) -> list[tuple[str, str]]:
    return [("event_id", "string"), *((c.name, c.type) for c in contract.columns)]


def _customers() -> list[Column]:
    email = F.lower(F.trim(F.col("email")))
    return [
        F.col("customer_id"),
        F.regexp_replace(F.trim(F.col("name")), r"\s+", " ").alias("name"),
        email.alias("email"),
        F.substring_index(email, "@", -1).alias("email_domain"),
        F.upper(F.trim(F.col("country"))).alias("country"),
        F.col("signup_date"),
    ]


def _purchases() -> list[Column]:
    return [
        F.col("order_id"),
        F.col("customer_id"),
        F.col("product_id"),
        F.col("quantity"),
        F.col("price"),
        # Decimal times decimal stays exact; the cast only fixes the scale money is kept at. The try_ forms: the
        # amount_out_of_range rule quarantines what would overflow, and nothing here may raise before it does.
        F.expr("try_cast(try_multiply(CAST(quantity AS DECIMAL(10,0)), price) AS DECIMAL(12,2))").alias("total_amount"),
        F.col("purchase_date"),
    ]


def _clickstream() -> list[Column]:
    return [
        F.col("user_id"),
        F.col("session_id"),
        F.col("page_url"),
        F.expr("try_parse_url(page_url, 'PATH')").alias("page_path"),  # invalid_url quarantines what cannot parse
        F.col("event_type"),
        F.col("product_id"),
        F.col("timestamp"),
    ]


_CLEAN = {CUSTOMERS.entity: _customers, PURCHASES.entity: _purchases, CLICKSTREAM.entity: _clickstream}


def clean(rows: DataFrame, contract: Contract, keep: tuple[str, ...] = ()) -> DataFrame:
    """Returns the silver columns of rows that passed every rule: one row per event, normalised values, the event
    date (UTC) and the lineage (and the columns named in ``keep``)."""
    present = set(rows.columns)
    return rows.select(*_clean(contract, tuple(c for c in ("payload_hash", "is_late", *keep) if c in present)))


@per_context
def _clean(contract: Contract, kept: tuple[str, ...]) -> tuple[Column, ...]:
    return (
        F.col("event_id"),
        *_CLEAN[contract.entity](),
        F.to_date(F.col(contract.event_time)).alias("event_date"),
        *(F.col(c) for c in LINEAGE),
        *(F.col(c) for c in kept),
    )


# A CSV file's rows are clocked after every earlier file's as long as files land one after another below this
# many lines a second; each year of landing takes 96 days of write timestamps (see retail.cassandra.writer).
CSV_LINES_PER_SECOND = 1 << 16


def serving_columns(rows: DataFrame, contract: Contract, keep: tuple[str, ...] = ()) -> DataFrame:
    """Returns, per row, what a serving table row is made of: the silver columns, the entity, ``produced_ms`` (the
    Kafka timestamp; for a CSV row, its ingestion) and ``clock`` (a Kafka record's offset; for a CSV row, after
    every offset: its file's ingestion second since the write timestamps' anchor, then its line), plus the columns
    named in ``keep`` and those the entity's serving tables derive (a purchase's minute)."""
    produced, clock, entity, derived = _serving(contract)
    with_clock = rows.withColumns({"produced_ms": produced, "clock": clock})
    return clean(with_clock, contract, ("produced_ms", "clock", *keep)).withColumns({"entity": entity, **derived})


@per_context
def _serving(contract: Contract) -> tuple[Column, Column, Column, dict[str, Column]]:
    from retail.cassandra.tables import TABLES_OF_ENTITY
    from retail.cassandra.writer import ANCHOR_US, KAFKA_OFFSETS

    produced = F.unix_millis(F.coalesce(F.col("kafka_timestamp"), F.col("ingested_at")))
    # A file landed before the anchor (a machine clock set back) counts from the anchor: never below Kafka's clocks.
    second = F.greatest(F.unix_seconds("ingested_at") - ANCHOR_US // 1_000_000, F.lit(0))
    csv_clock = F.lit(KAFKA_OFFSETS) + second * CSV_LINES_PER_SECOND + F.col("offset")
    clock = F.when(F.col("kafka_timestamp").isNotNull(), F.col("offset")).otherwise(csv_clock)
    derived = {name: F.expr(sql) for t in TABLES_OF_ENTITY[contract.entity] for name, sql in t.derived}
    return produced, clock, F.lit(contract.entity), derived
