"""Scratch namespaces: a test's, a chaos trial's or a benchmark's own topics (a prefix), Cassandra keyspace and lake
folder, made so it never sees anyone else's data, and removed when it is done so the stack does not grow with every
run. The platform's own namespace (the configured settings' topics, keyspace and lake) is never removed here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlparse

from retail.connections import cassandra_cluster, kafka_admin, webhdfs
from retail.settings import Settings


def remove(namespaces: Iterable[Settings]) -> list[str]:
    """Deletes each namespace's topics, keyspace and lake folder; returns what it deleted. Raises ValueError, before
    deleting anything, for a namespace that shares any of them with the platform's own (the configured settings)."""
    namespaces = list(namespaces)
    if not namespaces:
        return []
    own = Settings()
    for s in namespaces:
        if not s.kafka_topic_prefix or s.cassandra_keyspace == own.cassandra_keyspace or s.lake_path == own.lake_path:
            raise ValueError(
                f"not a scratch namespace: topics {s.kafka_topic_prefix!r}*, keyspace {s.cassandra_keyspace}, "
                f"lake {s.lake_path} (the platform's own are {own.kafka_topic_prefix!r}*, {own.cassandra_keyspace}, "
                f"{own.lake_path})"
            )
    settings = namespaces[0]
    prefixes = tuple(s.kafka_topic_prefix for s in namespaces)
    admin = kafka_admin(settings)
    topics = [t for t in admin.list_topics(timeout=30).topics if t.startswith(prefixes)]
    for future in (admin.delete_topics(topics, operation_timeout=60) if topics else {}).values():
        future.result()
    removed = [f"topic {t}" for t in topics]
    keyspaces = {s.cassandra_keyspace for s in namespaces}
    cluster = cassandra_cluster(settings)
    try:
        session = cluster.connect()
        for keyspace in sorted(keyspaces & _keyspaces(session)):
            session.execute(f'DROP KEYSPACE IF EXISTS "{keyspace}"', timeout=120)
            removed.append(f"keyspace {keyspace}")
    finally:
        cluster.shutdown()
    fs = webhdfs(settings)
    for folder in sorted({urlparse(s.lake_uri()).path for s in namespaces}):
        if fs.exists(folder):
            fs.rm(folder, recursive=True)
            removed.append(f"lake folder {folder}")
    return removed


def leftovers(settings: Settings, name: str, lake_root: str) -> list[Settings]:
    """Returns the namespaces on the stack whose name matches the regular expression ``name`` (topics ``<name>-``,
    keyspace ``<name>``, lake folder ``<lake_root>/<name>``): what runs that were killed before they tidied up left."""
    pattern = re.compile(f"^(?:{name})$")
    names = {t.split("-", 1)[0] for t in kafka_admin(settings).list_topics(timeout=30).topics if "-" in t}
    cluster = cassandra_cluster(settings)
    try:
        names |= _keyspaces(cluster.connect())
    finally:
        cluster.shutdown()
    return [of(settings, n, lake_root) for n in sorted(filter(pattern.match, names))]


def of(settings: Settings, name: str, lake_root: str) -> Settings:
    """Returns ``settings`` moved into the scratch namespace ``name``: topics ``<name>-*``, keyspace ``<name>``, lake
    ``<lake_root>/<name>``."""
    return settings.model_copy(
        update={"kafka_topic_prefix": f"{name}-", "cassandra_keyspace": name, "lake_path": f"{lake_root}/{name}"}
    )


def _keyspaces(session) -> set[str]:
    return {r.keyspace_name for r in session.execute("SELECT keyspace_name FROM system_schema.keyspaces")}
