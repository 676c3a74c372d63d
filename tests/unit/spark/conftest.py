import pytest
from pyspark.sql import SparkSession


def stop_other_session(master: str) -> None:
    """A process holds one SparkContext: stop one left by other tests on another master, so getOrCreate makes ours."""
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master != master:
        active.stop()


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the unit tests: one core, one shuffle partition, UTC."""
    stop_other_session("local[1]")
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
