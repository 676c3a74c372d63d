import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    """One throwaway Prefect server and database for every flow test (starting one costs ~10 s)."""
    with prefect_test_harness(server_startup_timeout=120):
        yield
