"""Health checks: each answers 'is this service usable now?' quickly and never raises."""

from __future__ import annotations

import logging

import requests

from retail.stack.process import tcp_open

_TIMEOUT_S = 2.0


def _json(url: str) -> object | None:
    try:
        response = requests.get(url, timeout=_TIMEOUT_S)
        return response.json() if response.ok else None
    except (requests.RequestException, ValueError):
        return None


def kafka(bootstrap: str) -> bool:
    """The broker answers a metadata request."""
    from confluent_kafka.admin import AdminClient

    host, _, port = bootstrap.rpartition(":")
    if not tcp_open(host, int(port)):
        return False
    quiet = logging.getLogger("retail.stack.health.kafka")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    try:
        metadata = AdminClient({"bootstrap.servers": bootstrap, "logger": quiet}).list_topics(timeout=_TIMEOUT_S)
        return bool(metadata.brokers)
    except Exception:  # noqa: BLE001 - any failure means "not healthy yet"
        return False


def namenode(http_url: str) -> bool:
    """WebHDFS answers. (A restarted NameNode stays in safe mode until the DataNode reports its blocks, so leaving
    safe mode is the DataNode's health, not the NameNode's.)"""
    return bool(_json(f"{http_url}/webhdfs/v1/?op=GETFILESTATUS"))


def datanode(http_url: str) -> bool:
    """The NameNode counts at least one live DataNode and has left safe mode, so HDFS takes writes."""
    state = _json(f"{http_url}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState")
    info = _json(f"{http_url}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo")
    live = state.get("beans", [{}])[0].get("NumLiveDataNodes", 0) if isinstance(state, dict) else 0
    safemode = info.get("beans", [{}])[0].get("Safemode", "unknown") if isinstance(info, dict) else "unknown"
    return live >= 1 and safemode == ""


def cassandra(host: str, port: int) -> bool:
    """The native protocol answers a query on system.local."""
    if not tcp_open(host, port):
        return False
    from cassandra.cluster import Cluster

    logging.getLogger("cassandra").setLevel(logging.CRITICAL)
    cluster = Cluster([host], port=port, connect_timeout=_TIMEOUT_S, protocol_version=5)
    try:
        return cluster.connect().execute("SELECT release_version FROM system.local").one() is not None
    except Exception:  # noqa: BLE001 - any failure means "not healthy yet"
        return False
    finally:
        cluster.shutdown()


def spark_master(ui_url: str) -> bool:
    """The master reports itself ALIVE."""
    state = _json(f"{ui_url}/json/")
    return isinstance(state, dict) and state.get("status") == "ALIVE"


def spark_worker(master_ui_url: str) -> bool:
    """The master has at least one ALIVE worker."""
    state = _json(f"{master_ui_url}/json/")
    workers = state.get("workers", []) if isinstance(state, dict) else []
    return any(w.get("state") == "ALIVE" for w in workers)


def prefect_server(api_url: str) -> bool:
    """The Prefect API answers its health endpoint."""
    return _json(f"{api_url}/health") is True


def prefect_worker(api_url: str, pool: str) -> bool:
    """The work pool is READY, which Prefect reports once a worker polls it."""
    state = _json(f"{api_url}/work_pools/{pool}")
    return isinstance(state, dict) and state.get("status") == "READY"


def superset(url: str) -> bool:
    """Superset answers its health check."""
    try:
        return requests.get(f"{url}/health", timeout=_TIMEOUT_S).text.strip() == "OK"
    except requests.RequestException:
        return False
