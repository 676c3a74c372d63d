"""The dashboards bundle from the spec and the gold contracts, without Superset."""

import io
import zipfile

import yaml

from retail.dashboards.bundle import MARTS_CONTRACTS, SPEC, build, mart_columns
from retail.settings import Settings


def settings(tmp_path) -> Settings:
    return Settings(gold_path=tmp_path / "gold", live_path=tmp_path / "live.duckdb")


def test_every_gold_mart_is_a_dataset_with_its_contracts_columns(tmp_path):
    bundle = build(settings(tmp_path))

    for mart, contract in mart_columns().items():
        dataset = bundle.files[f"datasets/gold/{mart}.yaml"]
        physical = [c for c in dataset["columns"] if c["expression"] is None]
        assert [c["column_name"] for c in physical] == list(contract["columns"]), mart
        assert [c["type"] for c in physical] == [t.upper() for t, _ in contract["columns"].values()], mart
        assert dataset["description"] == contract["description"]


def test_a_new_gold_column_reaches_its_dataset_without_editing_the_spec(tmp_path):
    contracts = yaml.safe_load(MARTS_CONTRACTS.read_text())
    sales = next(m for m in contracts["models"] if m["name"] == "daily_sales_summary")
    sales["columns"].append({"name": "refunds", "data_type": "decimal(18,2)", "description": "money given back"})
    (tmp_path / "_marts.yml").write_text(yaml.safe_dump(contracts))

    bundle = build(settings(tmp_path), SPEC, tmp_path / "_marts.yml")

    columns = bundle.files["datasets/gold/daily_sales_summary.yaml"]["columns"]
    assert columns[-1]["column_name"] == "refunds"
    assert columns[-1]["description"] == "money given back" and columns[-1]["type"] == "DECIMAL(18,2)"


def test_uuids_are_stable_and_every_reference_resolves(tmp_path):
    first, second = build(settings(tmp_path)), build(settings(tmp_path))
    files = first.files

    assert first.charts == second.charts and first.dashboards == second.dashboards
    datasets = {f["uuid"] for p, f in files.items() if p.startswith("datasets/")}
    databases = {f["uuid"] for p, f in files.items() if p.startswith("databases/")}
    assert all(files[f"charts/{k}.yaml"]["dataset_uuid"] in datasets for k in first.charts)
    assert all(f["database_uuid"] in databases for p, f in files.items() if p.startswith("datasets/"))
    placed = set()
    for key in first.dashboards:
        position = files[f"dashboards/{key}.yaml"]["position"]
        for row_id in position["GRID_ID"]["children"]:
            row = [position[c] for c in position[row_id]["children"]]
            assert sum(c["meta"]["width"] for c in row) <= 12
            placed |= {c["meta"]["uuid"] for c in row}
    assert placed == set(first.charts.values())  # every chart is on a dashboard, none twice-defined
    assert all(f.get("is_managed_externally") for p, f in files.items() if p != "metadata.yaml")


def test_the_databases_are_read_only_and_follow_the_settings(tmp_path):
    bundle = build(settings(tmp_path))
    gold, live = bundle.files["databases/gold.yaml"], bundle.files["databases/live.yaml"]

    assert gold["sqlalchemy_uri"] == f"duckdb:///{tmp_path / 'gold' / 'current' / 'warehouse.duckdb'}"
    assert live["sqlalchemy_uri"] == f"duckdb:///{tmp_path / 'live.duckdb'}"
    for database in (gold, live):
        assert database["allow_dml"] is False and database["allow_file_upload"] is False
        assert database["extra"]["engine_params"]["connect_args"] == {
            "read_only": True,
            "config": {"enable_external_access": False},
        }


def test_the_zip_holds_every_file_without_a_type_in_its_metadata(tmp_path):
    bundle = build(settings(tmp_path))

    with zipfile.ZipFile(io.BytesIO(bundle.zip())) as archive:
        names = set(archive.namelist())
        metadata = yaml.safe_load(archive.read("bundle/metadata.yaml"))
    assert names == {f"bundle/{p}" for p in bundle.files}
    assert "type" not in metadata


def test_table_columns_carry_their_number_formats(tmp_path):
    bundle = build(settings(tmp_path))

    top = bundle.files["charts/top_products.yaml"]["params"]
    assert top["column_config"]["view_to_cart_rate"] == {"d3NumberFormat": ".1%"}
    assert bundle.files["charts/data_as_of.yaml"]["params"]["column_config"] == {
        "hours old": {"d3NumberFormat": ",.1f"}
    }
