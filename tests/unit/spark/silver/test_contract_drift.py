"""One contract per entity feeds every layer: the silver table, its pandera gate, its Cassandra table and the dbt
sources gold reads. Any of them drifting from the contract fails here."""

from datetime import UTC, datetime

import pytest
import yaml

from retail.cassandra import TABLE_OF_ENTITY
from retail.contracts import CONTRACTS
from retail.settings import REPO_ROOT
from spark.silver.quality import silver_schema
from spark.silver.transforms import clean, parse_payload, typed

SOURCES = REPO_ROOT / "dbt" / "models" / "staging" / "_sources.yml"
BRONZE = (
    "entity string, value binary, topic string, partition int, offset long, kafka_timestamp timestamp, "
    "ingested_at timestamp, batch_id string"
)


def dbt_source_columns() -> dict[str, list[str]]:
    (silver,) = [s for s in yaml.safe_load(SOURCES.read_text())["sources"] if s["name"] == "silver"]
    return {t["name"]: [c["name"] for c in t["columns"]] for t in silver["tables"]}


@pytest.mark.parametrize("entity", list(CONTRACTS))
def test_every_layer_speaks_of_the_contract_columns(spark, entity):
    contract = CONTRACTS[entity]
    fields = {"event_id", *contract.names}
    empty = spark.createDataFrame([(entity, b"{}", "t", 0, 0, datetime.now(UTC), datetime.now(UTC), "0")], BRONZE)
    silver = set(clean(typed(parse_payload(empty, contract), contract), contract).columns) | {"is_late"}
    dbt = dbt_source_columns()[entity]

    assert fields <= silver
    assert set(silver_schema(contract).columns) == fields
    assert fields <= set(TABLE_OF_ENTITY[entity].column_names)
    assert fields <= set(dbt), f"dbt source {entity} misses {fields - set(dbt)}"
    assert set(dbt) <= silver, f"dbt source {entity} reads columns silver does not have: {set(dbt) - silver}"


def test_dbt_reads_exactly_the_contract_entities():
    assert set(dbt_source_columns()) == set(CONTRACTS)


@pytest.mark.parametrize("entity", list(CONTRACTS))
def test_dbt_sources_describe_columns_as_the_contract_does(entity):
    (silver,) = [s for s in yaml.safe_load(SOURCES.read_text())["sources"] if s["name"] == "silver"]
    (table,) = [t for t in silver["tables"] if t["name"] == entity]
    described = {c["name"]: c.get("description") for c in table["columns"]}

    for column in CONTRACTS[entity].columns:
        if column.description:
            assert described.get(column.name) == column.description, f"{entity}.{column.name}"
