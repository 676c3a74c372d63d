"""Cassandra for real-time reads: the serving tables (``tables``), connections (``client``) and the writers that
Spark executors run (``writer``)."""

from retail.cassandra.client import CassandraTarget, session_for
from retail.cassandra.tables import (
    CLICKSTREAM_BY_SESSION,
    CUSTOMER_BY_ID,
    PURCHASES_BY_CUSTOMER,
    SALES_BY_MINUTE,
    SERVING_PROGRESS,
    TABLE_OF_ENTITY,
    TABLES,
    TABLES_OF_ENTITY,
    SchemaMismatch,
    Table,
    ensure_schema,
    minute_totals,
)
from retail.cassandra.writer import Write, write_events, write_timestamp

__all__ = [
    "CLICKSTREAM_BY_SESSION",
    "CUSTOMER_BY_ID",
    "PURCHASES_BY_CUSTOMER",
    "SALES_BY_MINUTE",
    "SERVING_PROGRESS",
    "TABLES",
    "TABLES_OF_ENTITY",
    "TABLE_OF_ENTITY",
    "CassandraTarget",
    "SchemaMismatch",
    "Table",
    "Write",
    "ensure_schema",
    "minute_totals",
    "session_for",
    "write_events",
    "write_timestamp",
]
