"""The dbt YAML documents the gold marts: each mart states its grain and says what every column holds (Superset's
datasets show these descriptions)."""

from pathlib import Path

import pytest
import yaml

from retail.settings import REPO_ROOT

MODELS = REPO_ROOT / "dbt/models"
MARTS = MODELS / "marts"
MART_NAMES = sorted(path.stem for path in MARTS.glob("*.sql"))


def declared_models() -> dict[str, tuple[Path, dict]]:
    """Returns every model the YAML under dbt/models declares, by name, with the file that declares it."""
    files = sorted([*MODELS.rglob("*.yml"), *MODELS.rglob("*.yaml")])
    return {
        model["name"]: (path, model)
        for path in files
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", [])
    }


def is_described(node: dict) -> bool:
    """Returns whether a model or column has a description with some text (``description: null`` has none)."""
    description = node.get("description")
    return isinstance(description, str) and bool(description.strip())


def mart(name: str) -> dict:
    """Returns the YAML of mart ``name``, which must be declared under the marts folder."""
    path, model = declared_models()[name]
    assert MARTS in path.parents, f"{name} is declared in {path}, not under {MARTS}"
    return model


def test_every_mart_model_is_declared_in_the_marts_yaml():
    declared = declared_models()

    assert MART_NAMES, f"no models found in {MARTS}"
    assert [name for name in MART_NAMES if name not in declared] == []


@pytest.mark.parametrize("name", MART_NAMES)
def test_a_mart_states_its_grain(name):
    model = mart(name)

    assert is_described(model) and "one row per" in model["description"].lower(), name


@pytest.mark.parametrize("name", MART_NAMES)
def test_every_mart_column_is_described(name):
    columns = mart(name).get("columns", [])

    assert columns, f"{name} declares no columns"
    assert [column["name"] for column in columns if not is_described(column)] == []
