import pytest
from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the unit tests: one core, one shuffle partition, UTC."""
    session = (
        SparkSession.builder.master("local[1]")
        .appName("unit-tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()
