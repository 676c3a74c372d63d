"""Stack tests run in a stack home of their own, with a short health deadline."""

import pytest

from retail.settings import Settings


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("RETAIL_STACK__HOME", str(tmp_path / "stack"))
    monkeypatch.setenv("RETAIL_STACK__HEALTH_DEADLINE_S", "20")
    return Settings()
