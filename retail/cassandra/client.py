"""Connections to Cassandra: what an executor needs to connect, and one session per process."""

from __future__ import annotations

import atexit
import ssl
from dataclasses import dataclass, field

from retail.settings import Settings


@dataclass(frozen=True)
class CassandraTarget:
    """What an executor needs to write: contact points, credentials (None locally) and the keyspace."""

    hosts: tuple[str, ...]
    port: int
    keyspace: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # travels to executors, never into a log line
    ca_file: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CassandraTarget:
        """Returns the target the settings describe."""
        endpoints = settings.endpoints()
        password = settings.cassandra_password.get_secret_value() if settings.cassandra_password else None
        return cls(
            endpoints.cassandra_hosts,
            endpoints.cassandra_port,
            settings.cassandra_keyspace,
            settings.cassandra_username,
            password,
            str(settings.cassandra_ca_file) if settings.cassandra_ca_file else None,
        )

    def connect(self):
        """Returns a new Cluster on the contact points (most callers want ``session_for``)."""
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import Cluster

        auth = PlainTextAuthProvider(self.username, self.password) if self.username else None
        tls = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        return Cluster(
            list(self.hosts),
            port=self.port,
            auth_provider=auth,
            ssl_context=tls,
            protocol_version=5,
            connect_timeout=15,
        )


_SESSIONS: dict[CassandraTarget, object] = {}


def session_for(target: CassandraTarget):
    """Returns this process's session on ``target``'s keyspace, connecting once: a Python worker of a Spark
    executor keeps it across tasks and batches (a new cluster connection costs ~0.5 s), a driver across batches
    (shut down when the interpreter exits)."""
    session = _SESSIONS.get(target)
    if session is None or session.is_shutdown:
        if not _SESSIONS:
            atexit.register(close_sessions)  # once per process: the call is idempotent
        session = _SESSIONS[target] = target.connect().connect(target.keyspace)
    return session


def close_sessions() -> None:
    """Shuts down this process's sessions and their clusters (before the interpreter exits: the driver's scheduler
    thread would otherwise outlive the thread pools it submits to)."""
    while _SESSIONS:
        _, session = _SESSIONS.popitem()
        session.cluster.shutdown()
