"""The serving tables: query-first Cassandra tables derived from the entity contracts, and their creation."""

from __future__ import annotations

from dataclasses import dataclass

from retail.cassandra.client import CassandraTarget
from retail.contracts import CLICKSTREAM, CUSTOMERS, PURCHASES, Contract

_CQL_TYPES = {"string": "text", "int": "int", "timestamp": "timestamp", "date": "date", "boolean": "boolean"}


def cql_type(spark_type: str) -> str:
    """Returns the CQL type of a contract column's Spark type."""
    return "decimal" if spark_type.startswith("decimal") else _CQL_TYPES[spark_type]


@dataclass(frozen=True)
class Table:
    """One query-first table: its columns (name, CQL type), partition key, clustering columns and order."""

    name: str
    columns: tuple[tuple[str, str], ...]
    partition_key: tuple[str, ...]
    clustering: tuple[tuple[str, str], ...] = ()
    derived: tuple[tuple[str, str], ...] = ()  # columns a serving row gets by a Spark SQL expression: (name, sql)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Returns every column name in table order."""
        return tuple(name for name, _ in self.columns)

    def ddl(self, keyspace: str) -> str:
        """Returns the CREATE TABLE statement in ``keyspace``."""
        cols = ", ".join(f"{n} {t}" for n, t in self.columns)
        key = f"(({', '.join(self.partition_key)}){''.join(f', {c}' for c, _ in self.clustering)})"
        order = ""
        if self.clustering:
            order = " WITH CLUSTERING ORDER BY (" + ", ".join(f"{c} {o}" for c, o in self.clustering) + ")"
        return f"CREATE TABLE IF NOT EXISTS {keyspace}.{self.name} ({cols}, PRIMARY KEY {key}){order}"

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Returns the partition key columns, then the clustering columns."""
        return (*self.partition_key, *(c for c, _ in self.clustering))

    @property
    def bound_columns(self) -> tuple[str, ...]:
        """Returns the columns an insert binds: all but ``written_at``, which the coordinator sets."""
        return tuple(n for n in self.column_names if n != WRITTEN_AT)

    def insert(self, keyspace: str, timestamped: bool = False) -> str:
        """Returns the upsert; ``timestamped``: it also binds the write timestamp (``USING TIMESTAMP ?``)."""
        names = self.bound_columns
        values = ["?" for _ in names]
        if WRITTEN_AT in self.column_names:
            names, values = (*names, WRITTEN_AT), [*values, "toTimestamp(now())"]
        using = " USING TIMESTAMP ?" if timestamped else ""
        return f"INSERT INTO {keyspace}.{self.name} ({', '.join(names)}) VALUES ({', '.join(values)}){using}"

    def delete(self, keyspace: str) -> str:
        """Returns the delete of one row by its primary key, at a bound write timestamp."""
        where = " AND ".join(f"{k} = ?" for k in self.primary_key)
        return f"DELETE FROM {keyspace}.{self.name} USING TIMESTAMP ? WHERE {where}"


PRODUCED_AT, WRITTEN_AT = "produced_at", "written_at"


def _from_contract(contract: Contract, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """Returns an entity table's columns: the contract's, ``extra`` silver columns, and when the event was produced
    (its Kafka timestamp; for a CSV row, its ingestion) and written here (set by the coordinator): freshness."""
    contract_columns = ((c.name, cql_type(c.type)) for c in contract.columns)
    return (("event_id", "text"), *contract_columns, *extra, (PRODUCED_AT, "timestamp"), (WRITTEN_AT, "timestamp"))


CUSTOMER_BY_ID = Table("customer_by_id", _from_contract(CUSTOMERS, ("email_domain", "text")), ("customer_id",))
PURCHASES_BY_CUSTOMER = Table(
    "purchases_by_customer",
    _from_contract(PURCHASES, ("total_amount", "decimal")),
    ("customer_id",),
    (("purchase_date", "DESC"), ("order_id", "ASC")),
)
CLICKSTREAM_BY_SESSION = Table(
    "clickstream_by_session",
    _from_contract(CLICKSTREAM, ("page_path", "text")),
    ("session_id",),
    (("timestamp", "ASC"), ("event_id", "ASC")),
)
# Each purchase once more, in the minute it was made: the live view's sales per minute are a minute partition's
# sums (``minute_totals``). Both paths write it with its purchase, at the same timestamps, so it converges to silver
# as the purchases do, and a replay rewrites the same cells.
SALES_BY_MINUTE = Table(
    "sales_by_minute",
    (("minute", "timestamp"), ("order_id", "text"), ("total_amount", "decimal"), ("quantity", "int")),
    ("minute",),
    (("order_id", "ASC"),),
    derived=(("minute", "date_trunc('minute', purchase_date)"),),
)
# Freshness of the serving query, one row per micro-batch: when it was written and how long its rows took from
# their producer to here (``retail bronze status`` reads the newest).
SERVING_PROGRESS = Table(
    "serving_progress",
    (
        ("query", "text"),
        ("batch_id", "bigint"),
        ("written_at", "timestamp"),
        ("rows", "int"),
        ("p50_s", "double"),
        ("p95_s", "double"),
        ("max_s", "double"),
    ),
    ("query",),
    (("batch_id", "DESC"),),
)
TABLE_OF_ENTITY = {
    CUSTOMERS.entity: CUSTOMER_BY_ID,
    PURCHASES.entity: PURCHASES_BY_CUSTOMER,
    CLICKSTREAM.entity: CLICKSTREAM_BY_SESSION,
}
# Every table a row of an entity is written to (its own table first), each with the row's columns it names.
TABLES_OF_ENTITY = {
    **{e: (t,) for e, t in TABLE_OF_ENTITY.items()},
    PURCHASES.entity: (PURCHASES_BY_CUSTOMER, SALES_BY_MINUTE),
}
TABLES = (*TABLE_OF_ENTITY.values(), SALES_BY_MINUTE, SERVING_PROGRESS)


class SchemaMismatch(RuntimeError):
    """A serving table exists with other columns than the code writes."""


def ensure_schema(target: CassandraTarget, replication: int) -> None:
    """Creates the keyspace and every table if they do not exist; raises SchemaMismatch, saying what to do, when a
    table exists with other columns (the serving tables are derived from silver and can be rebuilt)."""
    cluster = target.connect()
    try:
        session = cluster.connect()
        strategy = f"{{'class': 'SimpleStrategy', 'replication_factor': {replication}}}"
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS {target.keyspace} WITH replication = {strategy}")
        for table in TABLES:
            session.execute(table.ddl(target.keyspace))
            found = {
                row.column_name
                for row in session.execute(
                    "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s",
                    (target.keyspace, table.name),
                )
            }
            if found != set(table.column_names):
                raise SchemaMismatch(
                    f"Cassandra table {target.keyspace}.{table.name} has columns {sorted(found)}, this version writes"
                    f' {sorted(table.column_names)}: drop it (./run cql "DROP TABLE {target.keyspace}.{table.name}")'
                    " and run again; it is refilled from the next batches"
                )
    finally:
        cluster.shutdown()


_MINUTE_SUMS: dict[tuple[int, str], object] = {}


def minute_totals(session, keyspace: str, minutes: list) -> dict:
    """Returns the sales of each of ``minutes`` that has any: (revenue, orders, units), summed by Cassandra on each
    minute's partition (one request a minute, all in flight at once: an aggregate over several partitions in one
    request draws a warning from Cassandra on every call)."""
    key = (id(session), keyspace)
    if key not in _MINUTE_SUMS:
        _MINUTE_SUMS[key] = session.prepare(
            f"SELECT sum(total_amount), count(*), sum(quantity) FROM {keyspace}.{SALES_BY_MINUTE.name} WHERE minute = ?"
        )
    futures = [(m, session.execute_async(_MINUTE_SUMS[key], (m,))) for m in minutes]
    totals = {}
    for minute, future in futures:
        revenue, orders, units = future.result().one()
        if orders:
            totals[minute] = (revenue, orders, units)
    return totals
