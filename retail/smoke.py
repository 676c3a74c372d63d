"""The smoke run: one real round trip through every service of the stack. Each check returns what it observed and
removes what it made (its topic, keyspace, HDFS folder and deployment), each on its own service, so a service that
is down fails its own check only."""

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
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=settings.kafka_replication)])[
        topic
    ].result(timeout=30)
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


def cassandra_roundtrip(settings: Settings, rows: int = 10) -> tuple[dict[str, str], dict[str, str], str]:
    """Returns (written, read back, keyspace): key -> value of rows written with prepared statements into a keyspace
    of this run's own and read back by key. The keyspace is dropped at the end, whatever happened."""
    keyspace = f"smoke_{uuid.uuid4().hex[:8]}"
    cluster = cassandra_cluster(settings)
    try:
        session = cluster.connect()
        replication = f"{{'class': 'SimpleStrategy', 'replication_factor': {settings.cassandra_replication}}}"
        session.execute(f"CREATE KEYSPACE {keyspace} WITH replication = {replication}")
        try:
            session.execute(f"CREATE TABLE {keyspace}.kv (k text PRIMARY KEY, v text)")
            written = {uuid.uuid4().hex: f"value-{i}" for i in range(rows)}
            insert = session.prepare(f"INSERT INTO {keyspace}.kv (k, v) VALUES (?, ?)")
            for key, value in written.items():
                session.execute(insert, (key, value))
            select = session.prepare(f"SELECT k, v FROM {keyspace}.kv WHERE k = ?")
            read = {row.k: row.v for key in written for row in session.execute(select, (key,))}
            return written, read, keyspace
        finally:
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
    finally:
        cluster.shutdown()


def rows_read_back(written: dict[str, str], read: dict[str, str]) -> str:
    """Returns what the Cassandra round trip proved; raises RuntimeError unless every row written was read back as
    written (an empty read proves nothing)."""
    if not written or read != written:
        wrong = sum(read.get(key) != value for key, value in written.items())
        raise RuntimeError(f"wrote {len(written)} rows, read back {len(read)}; {wrong} missing or different")
    return f"wrote and read back {len(written)} rows"


def hdfs_folder(settings: Settings) -> str:
    """Returns the URI of a fresh HDFS folder for one smoke run (``remove_folder`` removes it)."""
    return f"{settings.endpoints().hdfs_uri}/smoke-{uuid.uuid4().hex[:8]}"


def spark_parquet_roundtrip(
    spark, settings: Settings, rows: int = 1000, path: str | None = None
) -> tuple[str, int, int]:
    """Returns (hdfs path, rows read back, sum of ids) after Spark writes ``rows`` rows of Parquet to ``path`` (a
    fresh folder when not given)."""
    path = path or hdfs_folder(settings)
    spark.range(rows).withColumnRenamed("id", "event_no").write.mode("overwrite").parquet(path)
    back = spark.read.parquet(path)
    return path, back.count(), back.groupBy().sum("event_no").first()[0]


def remove_folder(settings: Settings, hdfs_path: str) -> bool:
    """Returns whether the HDFS folder existed, after removing it (through WebHDFS)."""
    fs = webhdfs(settings)
    folder = urlparse(hdfs_path).path
    if not fs.exists(folder):
        return False
    fs.rm(folder, recursive=True)
    return True


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


def prefect_worker_run(settings: Settings, timeout_s: int = 180) -> tuple[str, str]:
    """Returns (final state name, deployment name) of the smoke flow deployed to the work pool under a name of its
    own and run by the stack's worker. The deployment is deleted at the end, whatever happened."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    name = f"smoke-{uuid.uuid4().hex[:8]}"
    with temporary_settings({PREFECT_API_URL: settings.endpoints().prefect_api_url}):
        source = flow.from_source(source=str(REPO_ROOT), entrypoint="flows/smoke.py:smoke_flow")
        deployment_id = source.deploy(name=name, work_pool_name=settings.work_pool, print_next_steps=False)
        try:
            run = run_deployment(deployment_id, timeout=timeout_s)
            return (run.state.name if run.state else "unknown"), f"{source.name}/{name}"
        finally:
            with get_client(sync_client=True) as client:
                client.delete_deployment(deployment_id)


def _spark_checks(settings: Settings) -> str:
    from spark.session import build_session

    spark = build_session("stack-smoke", settings.endpoints().spark_master, driver_host=settings.spark_driver_host)
    path = hdfs_folder(settings)
    try:
        _, rows, total = spark_parquet_roundtrip(spark, settings, path=path)
        files, read = webhdfs_read(settings, path)
    finally:
        spark.stop()
        remove_folder(settings, path)
    if (rows, read) != (1000, 1000) or total != sum(range(1000)):
        raise RuntimeError(f"Spark read {rows} rows (sum {total}) and WebHDFS {read} rows from {path}, wanted 1000")
    return f"Spark wrote and read {rows} rows at {path}; WebHDFS read them from {len(files)} file(s); removed it"


def _check_kafka(settings: Settings) -> str:
    sent, received = kafka_roundtrip(settings)
    if sorted(received) != sorted(sent):
        raise RuntimeError(f"sent {len(sent)} messages, received {len(received)}")
    return f"produced and consumed {len(sent)} messages"


def _check_cassandra(settings: Settings) -> str:
    written, read, keyspace = cassandra_roundtrip(settings)
    return f"{rows_read_back(written, read)} in keyspace {keyspace}; dropped it"


def _check_prefect(settings: Settings) -> str:
    state, result = prefect_flow_run(settings)
    worker_state, deployment = prefect_worker_run(settings)
    if state != "Completed" or worker_state != "Completed":
        raise RuntimeError(f"in-process run {state}, worker run {worker_state}")
    return f"flow run {state} (result {result}); deployment {deployment} run by the worker {worker_state}, deleted"


CHECKS: dict[str, Callable[[Settings], str]] = {
    "kafka": _check_kafka,
    "cassandra": _check_cassandra,
    "spark + hdfs + webhdfs": _spark_checks,
    "prefect": _check_prefect,
}
