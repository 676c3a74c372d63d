"""Every service proven for real, through the same round trips as `retail smoke`."""

import pytest

from retail import smoke

pytestmark = pytest.mark.integration


def test_kafka_messages_come_back_in_order(stack_settings):
    sent, received = smoke.kafka_roundtrip(stack_settings, messages=25)

    assert received == sent


def test_cassandra_rows_round_trip_and_the_keyspace_is_dropped(stack_settings):
    from retail.connections import cassandra_cluster

    written, read, keyspace = smoke.cassandra_roundtrip(stack_settings, rows=25)

    assert len(written) == 25 and read == written
    cluster = cassandra_cluster(stack_settings)
    try:
        keyspaces = {
            r.keyspace_name for r in cluster.connect().execute("SELECT keyspace_name FROM system_schema.keyspaces")
        }
    finally:
        cluster.shutdown()
    assert keyspace not in keyspaces


def test_spark_on_the_standalone_master_writes_parquet_to_hdfs_and_webhdfs_reads_it(stack_settings, spark):
    path, rows, total = smoke.spark_parquet_roundtrip(spark, stack_settings, rows=5000)
    try:
        files, webhdfs_rows = smoke.webhdfs_read(stack_settings, path)
    finally:
        removed = smoke.remove_folder(stack_settings, path)

    assert spark.sparkContext.master == stack_settings.endpoints().spark_master
    assert path.startswith("hdfs://")
    assert (rows, total) == (5000, sum(range(5000)))
    assert files and all(f.endswith(".parquet") for f in files)
    assert webhdfs_rows == 5000
    assert removed and not smoke.remove_folder(stack_settings, path)  # it was there, and is gone


def test_flow_runs_against_the_prefect_server(stack_settings):
    state, result = smoke.prefect_flow_run(stack_settings)

    assert (state, result) == ("Completed", 42)


def test_stack_worker_runs_a_deployed_flow_and_the_deployment_is_deleted(stack_settings, deadline):
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    state, deployment = smoke.prefect_worker_run(stack_settings, timeout_s=round(deadline(180)))

    assert state == "Completed"
    api = stack_settings.endpoints().prefect_api_url
    with (
        temporary_settings({PREFECT_API_URL: api}),
        get_client(sync_client=True) as client,
        pytest.raises(ObjectNotFound),
    ):
        client.read_deployment_by_name(deployment)
