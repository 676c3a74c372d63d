"""Silver row checks: parse bronze payloads against the entity contract and name every rule each row breaks.
Pure DataFrame -> DataFrame functions for streaming and batch alike; routing and sinks live in the job.

Payloads are parsed with every field as a string first, then cast with try_cast: a value of the wrong type is then
a named violation (``wrong_type:<field>``), not a silently null column.
"""

from __future__ import annotations

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame

from retail.contracts import Contract

CORRUPT = "_corrupt_record"
OVERSIZED_CHARS = 4096  # no legitimate text field comes near this; a bigger one is a producer bug or an attack
FUTURE_TOLERANCE = "INTERVAL 1 DAY"  # clock skew we accept between producers and the platform
LINEAGE = ("topic", "partition", "offset", "kafka_timestamp", "ingested_at", "batch_id")


def raw_schema(contract: Contract) -> str:
    """Returns the DDL that parses a payload with every contract field as a string, plus the corrupt column."""
    return ", ".join([*(f"`{n}` string" for n in contract.names), f"`{CORRUPT}` string"])


def parse_payload(bronze: DataFrame, contract: Contract) -> DataFrame:
    """Returns one row per bronze Kafka record of ``contract``'s entity: lineage, the payload as text, its raw
    string fields (``raw``), its top-level keys and whether it was valid UTF-8."""
    text = F.col("value").cast("string")
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    return bronze.where(F.col("entity") == contract.entity).select(
        *(F.col(c) for c in LINEAGE),
        text.alias("payload"),
        F.from_json(text, raw_schema(contract), options).alias("raw"),
        F.json_object_keys(text).alias("payload_keys"),
        F.is_valid_utf8(text).alias("is_utf8"),
    )


def typed(parsed: DataFrame, contract: Contract) -> DataFrame:
    """Adds the contract's columns, each cast from its raw string to its contract type (null when it does not
    cast)."""
    casts = [F.expr(f"try_cast(raw.`{n}` AS {t})").alias(n) for n, t in _types(contract)]
    return parsed.select("*", *casts)


def violations(rows: DataFrame, contract: Contract) -> DataFrame:
    """Adds ``violations``: the code of every row rule the row breaks (empty when it passes all of them)."""
    names = list(contract.names)
    is_json = F.col(f"raw.{CORRUPT}").isNull() & F.col("payload_keys").isNotNull()
    # Field rules speak of a decoded JSON object only: text that is not UTF-8 or not an object has one reason.
    field_checks: list[tuple[str, Column]] = [
        ("unknown_field", F.size(F.array_except("payload_keys", F.array(*map(F.lit, names)))) > 0),
        ("oversized_value", F.greatest(*(F.length(F.col(f"raw.`{n}`")) for n in names)) > OVERSIZED_CHARS),
        ("future_timestamp", F.col(contract.event_time) > F.col("ingested_at") + F.expr(FUTURE_TOLERANCE)),
        *((f"missing_field:{n}", F.col(f"raw.`{n}`").isNull()) for n in contract.required),
        *((f"wrong_type:{n}", F.col(f"raw.`{n}`").isNotNull() & F.col(n).isNull()) for n, _ in _types(contract)),
        *((rule.code, F.expr(rule.violated)) for rule in contract.rules),
    ]
    checks = [
        ("invalid_utf8", ~F.col("is_utf8")),
        ("malformed_json", F.col("is_utf8") & ~is_json),
        *((code, F.col("is_utf8") & is_json & broken) for code, broken in field_checks),
    ]
    flagged = F.array(*(F.when(broken, F.lit(code)) for code, broken in checks))
    return rows.withColumn("violations", F.filter(flagged, lambda code: code.isNotNull()))


def _types(contract: Contract) -> list[tuple[str, str]]:
    return [("event_id", "string"), *((c.name, c.type) for c in contract.columns)]
