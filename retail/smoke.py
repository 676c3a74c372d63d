"""The smoke run: one real round trip through every service of the stack. Each check returns what it observed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlparse

from retail.connections import cassandra_cluster, kafka_admin, kafka_consumer, kafka_producer, webhdfs
from retail.settings import REPO_ROOT, Settings


def kafka_roundtrip(settings: Settings, messages: int = 10) -> tuple[list[str], list[str]]:
    """Returns (sent, received): values produced to a fresh topic and consumed back from its beginning."""
    from confluent_kafka.admin import NewTopic

    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    admin = kafka_admin(settings)
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=30)
    try:
        sent = [f"message-{i}" for i in range(messages)]
        producer = kafka_producer(settings)
        for value in sent:
            producer.produce(topic, value=value.encode())
        if producer.flush(30) != 0:
            raise RuntimeError("Kafka did not acknowledge every smoke message within 30 s")
        consumer = kafka_consumer(settings, topic, {"auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        received: list[str] = []
        try:
            for _ in range(60):
                if len(received) >= messages:
                    break
                for msg in consumer.consume(num_messages=messages, timeout=1.0):
                    if msg.error() is None:
                        received.append(msg.value().decode())
        finally:
            consumer.close()
        return sent, received
    finally:
        admin.delete_topics([topic])[topic].result(timeout=30)


def cassandra_roundtrip(settings: Settings) -> str:
    """Returns the value read back after writing one row (prepared statements) into a smoke keyspace."""
    cluster = cassandra_cluster(settings)
    try:
        session = cluster.connect()
        replication = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS smoke WITH replication = {replication}")
        session.execute("CREATE TABLE IF NOT EXISTS smoke.kv (k text PRIMARY KEY, v text)")
        key, value = uuid.uuid4().hex, f"value-{uuid.uuid4().hex[:6]}"
        session.execute(session.prepare("INSERT INTO smoke.kv (k, v) VALUES (?, ?)"), (key, value))
        row = session.execute(session.prepare("SELECT v FROM smoke.kv WHERE k = ?"), (key,)).one()
        return row.v if row else ""
    finally:
        cluster.shutdown()


def spark_parquet_roundtrip(spark, settings: Settings, rows: int = 1000) -> tuple[str, int, int]:
    """Returns (hdfs path, rows read back, sum of ids) after Spark writes ``rows`` rows of Parquet to HDFS."""
    path = f"{settings.endpoints().hdfs_uri}/smoke/{uuid.uuid4().hex[:8]}"
    spark.range(rows).withColumnRenamed("id", "event_no").write.mode("overwrite").parquet(path)
    back = spark.read.parquet(path)
    return path, back.count(), back.groupBy().sum("event_no").first()[0]


def webhdfs_read(settings: Settings, hdfs_path: str) -> tuple[list[str], int]:
    """Returns (Parquet files listed, rows read) for a folder on HDFS, through WebHDFS with fsspec."""
    import pyarrow.parquet as pq

    fs = webhdfs(settings)
    files = sorted(p for p in fs.ls(urlparse(hdfs_path).path, detail=False) if p.endswith(".parquet"))
    rows = 0
    for file in files:
        with fs.open(file, "rb") as f:
            rows += pq.read_table(f).num_rows
    return files, rows


def prefect_flow_run(settings: Settings) -> tuple[str, object]:
    """Returns (state name, result) of the smoke flow run in-process against the Prefect server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.smoke import smoke_flow

    with temporary_settings({PREFECT_API_URL: settings.endpoints().prefect_api_url}):
        state = smoke_flow(return_state=True)
        return state.name, state.result()


def prefect_worker_run(settings: Settings, timeout_s: int = 180) -> str:
    """Returns the final state name of the smoke flow deployed to the work pool and run by the stack's worker."""
    from prefect import flow
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: settings.endpoints().prefect_api_url}):
        source = flow.from_source(source=str(REPO_ROOT), entrypoint="flows/smoke.py:smoke_flow")
        deployment_id = source.deploy(name="smoke", work_pool_name=settings.work_pool, print_next_steps=False)
        run = run_deployment(deployment_id, timeout=timeout_s)
        return run.state.name if run.state else "unknown"


def _spark_checks(settings: Settings) -> str:
    from spark.session import build_session

    spark = build_session("stack-smoke", settings.endpoints().spark_master, driver_host=settings.spark_driver_host)
    try:
        path, rows, total = spark_parquet_roundtrip(spark, settings)
    finally:
        spark.stop()
    files, read = webhdfs_read(settings, path)
    if (rows, read) != (1000, 1000) or total != sum(range(1000)):
        raise RuntimeError(f"Spark read {rows} rows (sum {total}) and WebHDFS {read} rows from {path}, wanted 1000")
    return f"Spark wrote and read {rows} rows at {path}; WebHDFS read them from {len(files)} file(s)"


def _check_kafka(settings: Settings) -> str:
    sent, received = kafka_roundtrip(settings)
    if sorted(received) != sorted(sent):
        raise RuntimeError(f"sent {len(sent)} messages, received {len(received)}")
    return f"produced and consumed {len(sent)} messages"


def _check_cassandra(settings: Settings) -> str:
    return f"wrote and read back {cassandra_roundtrip(settings)!r}"


def _check_prefect(settings: Settings) -> str:
    state, result = prefect_flow_run(settings)
    worker_state = prefect_worker_run(settings)
    if state != "Completed" or worker_state != "Completed":
        raise RuntimeError(f"in-process run {state}, worker run {worker_state}")
    return f"flow run {state} (result {result}); deployment run by the worker {worker_state}"


CHECKS: dict[str, Callable[[Settings], str]] = {
    "kafka": _check_kafka,
    "cassandra": _check_cassandra,
    "spark + hdfs + webhdfs": _spark_checks,
    "prefect": _check_prefect,
}
