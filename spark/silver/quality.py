"""The pandera gate on every silver batch: types, nullability, ranges and uniqueness, derived from the contracts.

It stands behind the row rules, which already routed bad rows away: a batch that fails here means the code or the
contract is wrong, so the batch is not written and the failure is loud."""

from __future__ import annotations

import pandera.pyspark as pa
from pyspark.sql import DataFrame
from pyspark.sql.types import _parse_datatype_string

from retail.contracts import Contract

# Columns silver adds beyond the contract, and what they must hold.
_SILVER_CHECKS = {
    "purchases": {"quantity": [pa.Check.gt(0)], "price": [pa.Check.ge(0)]},
}


class SilverContractError(RuntimeError):
    """A silver batch broke its pandera schema; the message lists every failed check."""


def silver_schema(contract: Contract) -> pa.DataFrameSchema:
    """Returns the pandera schema of an entity's silver table: every contract column with its type and
    nullability, range checks, and event_id unique within the batch."""
    columns = {"event_id": pa.Column(_parse_datatype_string("string"), nullable=False)}
    extra = _SILVER_CHECKS.get(contract.entity, {})
    for column in contract.columns:
        columns[column.name] = pa.Column(
            _parse_datatype_string(column.type), nullable=not column.required, checks=extra.get(column.name, [])
        )
    return pa.DataFrameSchema(columns, unique=["event_id"], name=f"silver_{contract.entity}")


def gate(batch: DataFrame, contract: Contract) -> None:
    """Raises SilverContractError when ``batch`` breaks the entity's silver schema."""
    validated = silver_schema(contract).validate(batch)
    errors = dict(validated.pandera.errors)
    if errors:
        raise SilverContractError(f"silver {contract.entity} batch breaks its contract: {errors}")
