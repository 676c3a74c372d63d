"""Every service proven for real, through the same round trips as `retail smoke`."""

import pytest

from retail import smoke

pytestmark = pytest.mark.integration


def test_kafka_messages_come_back_in_order(stack_settings):
    sent, received = smoke.kafka_roundtrip(stack_settings, messages=25)

    assert received == sent


def test_cassandra_row_round_trips(stack_settings):
    value = smoke.cassandra_roundtrip(stack_settings)

    assert value.startswith("value-")


def test_spark_on_the_standalone_master_writes_parquet_to_hdfs_and_webhdfs_reads_it(stack_settings, spark):
    path, rows, total = smoke.spark_parquet_roundtrip(spark, stack_settings, rows=5000)
    files, webhdfs_rows = smoke.webhdfs_read(stack_settings, path)

    assert spark.sparkContext.master == stack_settings.endpoints().spark_master
    assert path.startswith("hdfs://")
    assert (rows, total) == (5000, sum(range(5000)))
    assert files and all(f.endswith(".parquet") for f in files)
    assert webhdfs_rows == 5000


def test_flow_runs_against_the_prefect_server(stack_settings):
    state, result = smoke.prefect_flow_run(stack_settings)

    assert (state, result) == ("Completed", 42)


def test_stack_worker_runs_a_deployed_flow(stack_settings):
    assert smoke.prefect_worker_run(stack_settings) == "Completed"
