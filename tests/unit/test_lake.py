"""The lake's declarations: one layout from any root, dbt's sources read exactly the declared datasets, and the
README's lake table states them."""

import re
from pathlib import Path

import pytest
import yaml

from retail.gold import GOLD_SOURCES, source_vars
from retail.lake import DATASETS, QUARANTINE, SILVER, LakeLayout
from retail.settings import REPO_ROOT, Settings

SOURCES = REPO_ROOT / "dbt/models/staging/_sources.yml"
README = REPO_ROOT / "README.md"
NO_PARTITIONS = "–"  # how the README's lake table writes a dataset without partition columns


def dbt_source_tables() -> dict[str, str]:
    """Returns every dbt source table's external location, by table name."""
    sources = yaml.safe_load(SOURCES.read_text())["sources"]
    return {t["name"]: t["meta"]["external_location"] for s in sources for t in s["tables"]}


def readme_lake_rows() -> list[tuple[str, str, str]]:
    """Returns the README's lake table as (dataset, folder, partitions) rows, one per table row of its lake section."""
    section = README.read_text(encoding="utf-8").split("\n## The lake\n", 1)[1].split("\n## ", 1)[0]
    row = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| ([^|]+?) \|$")
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]  # past the header and its rule
    rows = [row.match(line) for line in lines]
    assert all(rows), f"a lake table row is not '| `dataset` | `folder` | partitions |': {lines}"
    return [m.groups() for m in rows]


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("hdfs://127.0.0.1:9000/retail", "hdfs://127.0.0.1:9000/retail/quarantine/*/*/*.parquet"),
        ("webhdfs://127.0.0.1:9870/retail/", "webhdfs://127.0.0.1:9870/retail/quarantine/*/*/*.parquet"),
        ("/tmp/lake", "/tmp/lake/quarantine/*/*/*.parquet"),
    ],
)
def test_one_layout_from_any_root(root, expected):
    assert LakeLayout(root).files(QUARANTINE) == expected


def test_every_dataset_has_a_folder_of_its_own():
    folders = [d.folder for d in DATASETS]
    assert len(folders) == len(set(folders))
    assert len({d.name for d in DATASETS}) == len(DATASETS)


def test_a_partition_folder_names_its_columns_in_order():
    layout = LakeLayout("/lake")
    assert (
        layout.partition(QUARANTINE, entity="purchases", batch_id="7") == "/lake/quarantine/entity=purchases/batch_id=7"
    )
    with pytest.raises(ValueError, match="partitioned by"):
        layout.partition(QUARANTINE, batch_id="7")


def test_every_dbt_source_reads_its_declared_dataset_with_one_level_per_partition(tmp_path):
    settings = Settings(gold_source="local", local_lake_path=tmp_path, gold_path=tmp_path / "gold")
    locations = source_vars(settings)["locations"]
    tables = dbt_source_tables()

    assert set(tables) == set(GOLD_SOURCES)  # every source table is declared, and every declared one has a source
    for name, location in tables.items():
        assert f"var('locations')['{name}']" in location, f"dbt source {name} spells its own path: {location}"
        dataset = GOLD_SOURCES[name]
        folder, _, pattern = locations[name].partition(f"/{dataset.folder}/")
        assert Path(folder) == tmp_path
        assert pattern.split("/") == ["*"] * len(dataset.partitions) + ["*.parquet"], name


def test_silver_is_what_gold_reads_for_each_entity():
    assert {name: GOLD_SOURCES[name] for name in SILVER} == SILVER


def test_the_readme_lake_table_is_every_declared_dataset_and_nothing_else():
    declared = [(d.name, d.folder, ", ".join(d.partitions) or NO_PARTITIONS) for d in DATASETS]
    assert sorted(readme_lake_rows()) == sorted(declared)
