"""A bronze batch written by the driver holds what Spark's executors write for it, and replaces it."""

from datetime import datetime

from pyspark.testing import assertDataFrameEqual

from spark.bronze.job import write_batch
from spark.bronze.transforms import kafka_to_bronze
from spark.hdfs import DRIVER_FILE, Lake

KAFKA_SCHEMA = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"


def test_a_batch_the_driver_writes_holds_what_the_executors_write_and_replaces_it(spark, tmp_path):
    ts = datetime(2026, 1, 1, 12, 0)
    records = spark.createDataFrame(
        [
            (b"C1", b'{"event_id":"e1"}', "t-customers", 0, 10, ts),
            (None, b"\xff\xfe not json", "t-purchases", 2, 11, ts),
            (b"x", b"{}", "t-clickstream", 1, 12, None),
        ],
        KAFKA_SCHEMA,
    )
    bronze = kafka_to_bronze(records, topic_prefix="t-")
    batch = spark.createDataFrame(bronze.collect(), bronze.schema)  # one ingestion time for every write
    executors, driver = (tmp_path / "executors").as_uri(), (tmp_path / "driver").as_uri()
    lake = Lake(spark)

    write_batch(batch, "b-1", executors)
    write_batch(batch, "b-1", driver, lake)
    write_batch(batch, "b-1", executors, lake)  # a replay on the driver of what the executors wrote

    written = lake.glob(f"{driver}/entity=*/ingest_date=*/batch_id=b-1/*")
    assert len(written) == 3 and all(f.endswith(DRIVER_FILE) for f in written)
    assert len(lake.glob(f"{executors}/entity=*/ingest_date=*/batch_id=b-1/*.parquet")) == 3  # replaced, not added
    assertDataFrameEqual(spark.read.parquet(driver), spark.read.parquet(executors))
    columns = [c for c in batch.columns if c != "ingest_date"]
    assert _rows(spark.read.parquet(driver).select(*columns)) == _rows(batch.select(*columns))


def _rows(frame) -> list:
    return sorted((r.asDict() for r in frame.collect()), key=lambda r: r["offset"])
