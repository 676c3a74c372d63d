"""Cassandra for real-time reads: query-first tables derived from the entity contracts, and the writer that Spark
executors run (prepared, idempotent statements executed concurrently; an upsert by primary key, so a replayed
batch rewrites the same rows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from retail.contracts import CLICKSTREAM, CUSTOMERS, PURCHASES, Contract
from retail.settings import Settings

_CQL_TYPES = {"string": "text", "int": "int", "timestamp": "timestamp", "date": "date", "boolean": "boolean"}


def cql_type(spark_type: str) -> str:
    return "decimal" if spark_type.startswith("decimal") else _CQL_TYPES[spark_type]


@dataclass(frozen=True)
class Table:
    """One query-first table: its columns (name, CQL type), partition key, clustering columns and order."""

    name: str
    columns: tuple[tuple[str, str], ...]
    partition_key: tuple[str, ...]
    clustering: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self, keyspace: str) -> str:
        cols = ", ".join(f"{n} {t}" for n, t in self.columns)
        key = f"(({', '.join(self.partition_key)}){''.join(f', {c}' for c, _ in self.clustering)})"
        order = ""
        if self.clustering:
            order = " WITH CLUSTERING ORDER BY (" + ", ".join(f"{c} {o}" for c, o in self.clustering) + ")"
        return f"CREATE TABLE IF NOT EXISTS {keyspace}.{self.name} ({cols}, PRIMARY KEY {key}){order}"

    def insert(self, keyspace: str) -> str:
        return (f"INSERT INTO {keyspace}.{self.name} ({', '.join(self.column_names)}) "
                f"VALUES ({', '.join('?' for _ in self.columns)})")  # fmt: skip


def _from_contract(contract: Contract, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (("event_id", "text"), *((c.name, cql_type(c.type)) for c in contract.columns), *extra)


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
SALES_PER_MINUTE = Table(
    "sales_per_minute",
    (("sale_date", "date"), ("minute", "timestamp"), ("revenue", "decimal"), ("orders", "int"), ("units", "int")),
    ("sale_date",),
    (("minute", "DESC"),),
)
TABLE_OF_ENTITY = {
    CUSTOMERS.entity: CUSTOMER_BY_ID,
    PURCHASES.entity: PURCHASES_BY_CUSTOMER,
    CLICKSTREAM.entity: CLICKSTREAM_BY_SESSION,
}
TABLES = (*TABLE_OF_ENTITY.values(), SALES_PER_MINUTE)


@dataclass(frozen=True)
class CassandraTarget:
    """What an executor needs to write: contact points, credentials (None locally) and the keyspace."""

    hosts: tuple[str, ...]
    port: int
    keyspace: str
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CassandraTarget:
        endpoints = settings.endpoints()
        password = settings.cassandra_password.get_secret_value() if settings.cassandra_password else None
        return cls(endpoints.cassandra_hosts, endpoints.cassandra_port, settings.cassandra_keyspace,
                   settings.cassandra_username, password)  # fmt: skip

    def connect(self):
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import Cluster

        auth = PlainTextAuthProvider(self.username, self.password) if self.username else None
        return Cluster(list(self.hosts), port=self.port, auth_provider=auth, protocol_version=5, connect_timeout=15)


def ensure_schema(target: CassandraTarget, replication: int) -> None:
    """Creates the keyspace and every table if they do not exist."""
    cluster = target.connect()
    try:
        session = cluster.connect()
        strategy = f"{{'class': 'SimpleStrategy', 'replication_factor': {replication}}}"
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS {target.keyspace} WITH replication = {strategy}")
        for table in TABLES:
            session.execute(table.ddl(target.keyspace))
    finally:
        cluster.shutdown()


def write_rows(rows: Iterable, target: CassandraTarget, table: Table, concurrency: int = 64) -> None:
    """Upserts Spark rows into ``table``; runs on an executor, one connection per partition."""
    from cassandra.concurrent import execute_concurrent_with_args

    cluster = target.connect()
    try:
        session = cluster.connect()
        statement = session.prepare(table.insert(target.keyspace))
        statement.is_idempotent = True
        values = (tuple(row[name] for name in table.column_names) for row in rows)
        execute_concurrent_with_args(session, statement, values, concurrency=concurrency, raise_on_first_error=True)
    finally:
        cluster.shutdown()
