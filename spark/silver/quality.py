"""The pandera gate on every silver batch: types, nullability, ranges and uniqueness, derived from the contracts.

It stands behind the row rules, which already routed bad rows away: a batch that fails here means the code or the
contract is wrong, so the batch is not written and the failure is loud. The gate runs pandera's pandas backend on
each partition's Arrow batches inside the job that writes silver (pandera's PySpark backend runs one Spark job per
check, which costs more than the batch), and the Arrow schema is held to the contract's types exactly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandera.pandas as pa
import pyarrow
from pyspark.sql import DataFrame
from pyspark.sql.pandas.types import to_arrow_type
from pyspark.sql.types import DataType

from retail.contracts import PURCHASES, Contract

# Checks beyond the contract's types and nullability.
_SILVER_CHECKS = {
    PURCHASES.entity: {"quantity": [pa.Check.gt(0)], "price": [pa.Check.ge(0)]},
}


class SilverContractError(RuntimeError):
    """A silver batch broke its pandera schema; the message lists every failed check."""


def silver_schema(contract: Contract) -> pa.DataFrameSchema:
    """Returns the pandera schema of an entity's silver rows: every contract column with its nullability and range
    checks, and event_id unique. (Types are checked on the Arrow schema, see ``arrow_types``.)"""
    columns = {"event_id": pa.Column(nullable=False)}
    extra = _SILVER_CHECKS.get(contract.entity, {})
    for column in contract.columns:
        columns[column.name] = pa.Column(nullable=not column.required, checks=extra.get(column.name, []))
    return pa.DataFrameSchema(columns, unique=["event_id"], name=f"silver_{contract.entity}")


def arrow_types(contract: Contract) -> dict[str, pyarrow.DataType]:
    """Returns the Arrow type of every contract column as Spark hands it to Python."""
    types = {"event_id": "string", **{c.name: c.type for c in contract.columns}}
    return {name: to_arrow_type(DataType.fromDDL(ddl), timezone="UTC") for name, ddl in types.items()}


def check_batch(batch: pyarrow.RecordBatch, contract: Contract, types: dict[str, pyarrow.DataType]) -> None:
    """Raises SilverContractError when one Arrow batch of silver rows breaks the entity's schema (``types``: the
    contract's ``arrow_types``, resolved on the driver)."""
    wrong = {
        name: f"{batch.schema.field(name).type} (contract: {want})"
        for name, want in types.items()
        if batch.schema.field(name).type != want
    }
    if wrong:
        raise SilverContractError(f"silver {contract.entity} batch has wrong column types: {wrong}")
    try:
        silver_schema(contract).validate(batch.to_pandas(), lazy=True)
    except pa.errors.SchemaErrors as err:
        failures = err.failure_cases[["column", "check", "failure_case"]].head(20).to_dict("records")
        raise SilverContractError(f"silver {contract.entity} batch breaks its contract: {failures}") from None


def gate(batch: DataFrame, contract: Contract) -> DataFrame:
    """Returns ``batch`` with the gate applied to every partition as it is computed: the job that writes it fails
    with SilverContractError (nothing of it committed) when a row breaks the entity's schema."""
    types = arrow_types(contract)

    def checked(batches: Iterator[pyarrow.RecordBatch]) -> Iterator[pyarrow.RecordBatch]:
        for part in batches:
            check_batch(part, contract, types)
            yield part

    return batch.mapInArrow(checked, batch.schema)
