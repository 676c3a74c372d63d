"""One contract per entity: the single source of truth for every layer's view of it."""

from retail.contracts.base import Column, Contract, Rule
from retail.contracts.clickstream import CLICKSTREAM, EVENT_TYPES
from retail.contracts.customers import CUSTOMERS
from retail.contracts.purchases import PURCHASES

# In dependency order: customers first (purchases are checked against them).
CONTRACTS: dict[str, Contract] = {c.entity: c for c in (CUSTOMERS, PURCHASES, CLICKSTREAM)}

__all__ = ["CLICKSTREAM", "CONTRACTS", "CUSTOMERS", "EVENT_TYPES", "PURCHASES", "Column", "Contract", "Rule"]
