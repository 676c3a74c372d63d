"""The dashboards bundle from the spec and the gold contracts, without Superset."""

import io
import zipfile
from pathlib import Path

import pytest
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


def test_uuids_are_the_ones_earlier_imports_made(tmp_path):
    bundle = build(settings(tmp_path))

    # What a running Superset already holds: a changed uuid would import a copy beside it.
    assert bundle.charts["revenue"] == "ffcecf67-e6e5-58f3-8a7f-447f22858511"
    assert bundle.dashboards["sales"] == "2efbf6e6-e577-5180-89c9-8f814643f37c"
    assert bundle.files["datasets/gold/fct_purchases.yaml"]["uuid"] == "7c3737fb-3513-5ed0-88bb-d75e4ef0f8a6"


def dataset_metrics(bundle, dataset: str) -> dict[str, dict]:
    path = next(p for p in bundle.files if p.startswith("datasets/") and p.endswith(f"/{dataset}.yaml"))
    names = [m["metric_name"] for m in bundle.files[path]["metrics"]]
    assert len(names) == len(set(names)), dataset  # Superset keys a dataset's metrics by name
    return {m["metric_name"]: m for m in bundle.files[path]["metrics"]}


def test_each_measure_is_one_metric_on_each_dataset_that_carries_it(tmp_path):
    bundle = build(settings(tmp_path))
    measures = yaml.safe_load(SPEC.read_text())["metrics"]

    assert {"revenue", "orders", "average_order_value"} <= set(measures)
    for name, measure in measures.items():
        for dataset, sql in measure["sql"].items():
            metric = dataset_metrics(bundle, dataset)[name]
            assert metric["expression"] == sql
            assert metric["d3format"] == measure["format"] and metric["description"] == measure["description"]
    assert dataset_metrics(bundle, "fct_purchases")["average_order_value"]["verbose_name"] == "average order value"
    assert dataset_metrics(bundle, "live_sales")["revenue"]["expression"] == "sum(revenue)"


@pytest.mark.parametrize(
    ("chart", "metrics"),
    [
        ("revenue", ["revenue"]),
        ("orders", ["orders"]),
        ("average_order_value", ["average_order_value"]),
        ("revenue_per_day", ["revenue"]),
        ("orders_per_day", ["orders", "average_order_value"]),
        ("live_revenue", ["revenue"]),
        ("live_orders", ["orders"]),
    ],
)
def test_charts_of_revenue_orders_and_order_value_name_the_measure(tmp_path, chart, metrics):
    params = build(settings(tmp_path)).files[f"charts/{chart}.yaml"]["params"]

    assert params.get("metrics", [params.get("metric")]) == metrics


def test_no_chart_writes_a_measure_out_again(tmp_path):
    bundle = build(settings(tmp_path))
    measures = yaml.safe_load(SPEC.read_text())["metrics"]
    labels = {m.get("label", name) for name, m in measures.items()}

    for key in bundle.charts:
        chart = bundle.files[f"charts/{key}.yaml"]
        dataset = Path(next(p for p, f in bundle.files.items() if f.get("uuid") == chart["dataset_uuid"])).stem
        own = {" ".join(m["sql"][dataset].lower().split()) for m in measures.values() if dataset in m["sql"]}
        params = chart["params"]
        for metric in params.get("metrics", [params.get("metric")]):
            if isinstance(metric, dict):
                assert " ".join(metric["sqlExpression"].lower().split()) not in own, key
                assert metric["label"] not in labels, key


def test_a_big_number_shows_its_measure_in_the_measures_format(tmp_path):
    files = build(settings(tmp_path)).files

    # Superset formats a big number's saved metric with the metric's d3 format, so the chart's params carry the same.
    assert files["charts/revenue.yaml"]["params"]["y_axis_format"] == ",.2f"
    assert files["charts/orders.yaml"]["params"]["y_axis_format"] == ",d"
    assert files["charts/live_orders.yaml"]["params"]["y_axis_format"] == ",d"
    assert files["charts/revenue_per_day.yaml"]["params"]["y_axis_format"] == ",.0f"  # an axis keeps the chart's


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"charts": {"revenue": {"metrics": ["profit"]}}}, "chart revenue: its dataset has no metric profit"),
        ({"metrics": {"revenue": {"sql": {"fct_refunds": "sum(amount)"}}}}, "fct_refunds, which is not a dataset"),
    ],
)
def test_a_measure_or_chart_that_does_not_resolve_fails_the_build(tmp_path, change, message):
    spec = yaml.safe_load(SPEC.read_text())
    for section, objects in change.items():
        for key, fields in objects.items():
            spec[section][key] |= fields
    (tmp_path / "dashboards.yml").write_text(yaml.safe_dump(spec))

    with pytest.raises(ValueError, match=message):
        build(settings(tmp_path), tmp_path / "dashboards.yml")


@pytest.mark.parametrize(
    ("chart", "viz", "expected"),
    [
        ("revenue", "big_number_total", {"metric": "revenue", "header_font_size": 0.4}),
        ("revenue_per_day", "echarts_timeseries_line", {"x_axis": "purchase_date", "markerEnabled": True}),
        ("live_revenue", "echarts_timeseries_bar", {"time_grain_sqla": "PT1M", "stack": None}),
        ("quality_per_day", "echarts_timeseries_bar", {"groupby": ["outcome"], "stack": "Stack"}),
        ("customers_per_segment", "pie", {"groupby": ["segment"], "label_type": "key_value_percent"}),
        ("session_funnel", "funnel", {"groupby": ["step"], "legendOrientation": "top"}),
        ("top_products", "table", {"query_mode": "raw", "order_by_cols": ['["revenue", false]'], "row_limit": 10}),
        ("quarantine_reasons", "table", {"query_mode": "aggregate", "groupby": ["entity", "reason"]}),
    ],
)
def test_each_chart_type_has_its_viz_and_params(tmp_path, chart, viz, expected):
    body = build(settings(tmp_path)).files[f"charts/{chart}.yaml"]

    assert body["viz_type"] == body["params"]["viz_type"] == viz
    assert {k: body["params"].get(k) for k in expected} == expected
