import pytest

from spark.session import build_session


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the unit tests: one core, one shuffle partition, UTC."""
    session = build_session(
        "unit-tests", "local[1]", conf={"spark.sql.shuffle.partitions": "1", "spark.ui.enabled": "false"}
    )
    yield session
    session.stop()
