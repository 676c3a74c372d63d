"""The Superset bundle built from ``dashboards/dashboards.yml`` and the gold marts' dbt contracts: databases,
datasets, charts and dashboards as Superset's import format (YAML files in a zip). Every object's uuid is derived
from its name in the spec, so an import updates what an earlier import made instead of adding a copy."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from retail.settings import REPO_ROOT, Settings

SPEC = REPO_ROOT / "dashboards/dashboards.yml"
MARTS_CONTRACTS = REPO_ROOT / "dbt/models/marts/_marts.yml"
NAMESPACE = uuid.UUID("0d4f6b2e-7d3c-5a7e-9a51-5e7a11d45b0a")
VERSION = "1.0.0"
EXTERNAL_URL = "dashboards/dashboards.yml"
_TEMPORAL = ("date", "timestamp")


def object_uuid(kind: str, key: str) -> str:
    """Returns the stable uuid of one bundle object."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


@dataclass(frozen=True)
class Bundle:
    """The files of one import (path in the zip -> YAML mapping) and the uuids of every chart and dashboard."""

    files: dict[str, dict]
    charts: dict[str, str]
    dashboards: dict[str, str]

    def zip(self) -> bytes:
        """Returns the bundle as the zip Superset's import endpoints take."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path, body in self.files.items():
                archive.writestr(f"bundle/{path}", yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
        return buffer.getvalue()


def mart_columns(path: Path = MARTS_CONTRACTS) -> dict[str, dict]:
    """Returns every gold mart's contract: description and columns (name -> data type, description)."""
    models = yaml.safe_load(path.read_text())["models"]
    return {
        m["name"]: {
            "description": " ".join(str(m.get("description", "")).split()),
            "columns": {c["name"]: (c["data_type"], c.get("description")) for c in m["columns"]},
        }
        for m in models
    }


def database_uris(settings: Settings) -> dict[str, str]:
    """Returns the SQLAlchemy URI of each database: the published gold (through ``current``, so a new build is
    picked up at the next query) and the live feed's file."""
    return {
        "gold": f"duckdb:///{(settings.gold_path / 'current' / 'warehouse.duckdb').absolute()}",
        "live": f"duckdb:///{settings.live_path.absolute()}",
    }


def build(settings: Settings, spec_path: Path = SPEC, contracts_path: Path = MARTS_CONTRACTS) -> Bundle:
    """Returns the bundle of the spec, its databases pointing where ``settings`` say."""
    spec = yaml.safe_load(spec_path.read_text())
    files: dict[str, dict] = {"metadata.yaml": {"version": VERSION, "timestamp": "2026-01-01T00:00:00+00:00"}}
    uris = database_uris(settings)
    for key, name in spec["databases"].items():
        files[f"databases/{key}.yaml"] = _database(key, name, uris[key])
    datasets = _datasets(spec, mart_columns(contracts_path))
    for key, dataset in datasets.items():
        files[f"datasets/{dataset['_database']}/{key}.yaml"] = {k: v for k, v in dataset.items() if k != "_database"}
    charts = {}
    for key, chart in spec["charts"].items():
        charts[key] = object_uuid("chart", key)
        files[f"charts/{key}.yaml"] = _chart(key, chart, datasets[chart["dataset"]])
    dashboards = {}
    for key, dashboard in spec["dashboards"].items():
        dashboards[key] = object_uuid("dashboard", key)
        files[f"dashboards/{key}.yaml"] = _dashboard(key, dashboard, spec["charts"])
    return Bundle(files, charts, dashboards)


def _managed(kind: str, key: str) -> dict:
    return {
        "uuid": object_uuid(kind, key),
        "version": VERSION,
        "is_managed_externally": True,
        "external_url": EXTERNAL_URL,
    }


def _database(key: str, name: str, uri: str) -> dict:
    # Read-only, no file or network access from SQL, no DML: Superset users can only read what gold publishes.
    connect = {"read_only": True, "config": {"enable_external_access": False}}
    return {
        "database_name": name,
        "sqlalchemy_uri": uri,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"engine_params": {"connect_args": connect}, "allows_virtual_table_explore": True},
        **_managed("database", key),
    }


def _datasets(spec: dict, marts: dict[str, dict]) -> dict[str, dict]:
    extra = spec.get("datasets", {})
    datasets = {}
    for name, mart in marts.items():
        datasets[name] = _dataset(
            name, "gold", name, None, mart["description"], mart["columns"], extra.get(name, {}).get("calculated", {})
        )
    for name, own in extra.items():
        if name in marts:
            continue
        columns = {c: (t, None) for c, t in own["columns"].items()}
        datasets[name] = _dataset(
            name,
            own["database"],
            own.get("table", name),
            own.get("sql"),
            own.get("description", ""),
            columns,
            own.get("calculated", {}),
        )
    for name, metrics in _measures(spec).items():
        if name not in datasets:
            raise ValueError(f"a metric is defined on {name}, which is not a dataset")
        datasets[name]["metrics"] += metrics
    return datasets


def _measures(spec: dict) -> dict[str, list[dict]]:
    """Returns the spec's measures as Superset metrics, by the dataset that carries them (each with its own SQL)."""
    by_dataset: dict[str, list[dict]] = {}
    for name, measure in spec.get("metrics", {}).items():
        for dataset, sql in measure["sql"].items():
            metric = _metric(name, sql, measure.get("label", name), measure.get("format"), measure.get("description"))
            by_dataset.setdefault(dataset, []).append(metric)
    return by_dataset


def _metric(
    name: str, sql: str, label: str, d3format: str | None = None, description: str | None = None, *, kind=None
) -> dict:
    return {
        "metric_name": name,
        "verbose_name": label,
        "metric_type": kind,
        "expression": sql,
        "description": description,
        "d3format": d3format,
        "currency": None,
        "extra": None,
        "warning_text": None,
    }


def _dataset(
    key: str, database: str, table: str, sql: str | None, description: str, columns: dict, calculated: dict
) -> dict:
    temporal = [c for c, (t, _) in columns.items() if t.split("(")[0] in _TEMPORAL]
    rows = [_column(name, data_type, text, is_dttm=name in temporal) for name, (data_type, text) in columns.items()] + [
        _column(name, "VARCHAR", f"= {expression}", expression=expression) for name, expression in calculated.items()
    ]
    return {
        "_database": database,
        "table_name": table if sql is None else key,
        "main_dttm_col": temporal[0] if temporal else None,
        "description": description or None,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "catalog": None,
        "schema": "main",
        "sql": sql,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "metrics": [_metric("count", "count(*)", "rows", kind="count")],
        "columns": rows,
        "database_uuid": object_uuid("database", database),
        **_managed("dataset", key),
    }


def _column(name: str, data_type: str, description: str | None, *, is_dttm: bool = False, expression=None) -> dict:
    return {
        "column_name": name,
        "verbose_name": None,
        "is_dttm": is_dttm,
        "is_active": True,
        "type": data_type.upper(),
        "advanced_data_type": None,
        "groupby": True,
        "filterable": True,
        "expression": expression,
        "description": description,
        "python_date_format": None,
        "extra": None,
    }


def _metrics(key: str, chart: dict, dataset: dict) -> list[str | dict]:
    """Returns the chart's metrics as Superset's chart params take them: the dataset's metrics by name (the spec gives
    a list of names), or ad-hoc SQL under its label (the spec gives a ``{label: sql}`` mapping)."""
    spec = chart.get("metrics", {})
    if isinstance(spec, list):
        missing = set(spec) - {m["metric_name"] for m in dataset["metrics"]}
        if missing:
            raise ValueError(f"chart {key}: its dataset has no metric {', '.join(sorted(missing))}")
        return spec
    return [
        {
            "expressionType": "SQL",
            "sqlExpression": sql,
            "label": label,
            "hasCustomLabel": True,
            "optionName": f"metric_{i}",
        }
        for i, (label, sql) in enumerate(spec.items())
    ]


def _filters(chart: dict) -> list[dict]:
    filters = []
    if chart.get("time"):
        filters.append(
            {
                "clause": "WHERE",
                "comparator": "No filter",
                "expressionType": "SIMPLE",
                "operator": "TEMPORAL_RANGE",
                "subject": chart["time"],
            }
        )
    if chart.get("where"):
        filters.append({"clause": "WHERE", "expressionType": "SQL", "sqlExpression": chart["where"]})
    return filters


def _big_number(chart: dict, metrics: list, dataset: dict) -> dict:
    # Superset 6.1 formats a big number's dataset metric with the metric's d3 format, over the chart's: the params carry
    # that format, so they say what the tile shows.
    formats = {m["metric_name"]: m["d3format"] for m in dataset["metrics"]}
    own = formats.get(metrics[0]) if isinstance(metrics[0], str) else None
    return {
        "metric": metrics[0],
        "y_axis_format": own or chart.get("format", "SMART_NUMBER"),
        "header_font_size": 0.4,
        "subheader_font_size": 0.15,
        "time_format": "smart_date",
    }


def _timeseries(chart: dict, metrics: list, *, markers: bool) -> dict:
    return {
        "x_axis": chart["time"],
        "time_grain_sqla": chart.get("grain", "P1D"),
        "metrics": metrics,
        "groupby": chart.get("group_by", []),
        "show_legend": True,
        "rich_tooltip": True,
        "x_axis_time_format": "smart_date",
        "y_axis_format": chart.get("format", "SMART_NUMBER"),
        "truncateXAxis": True,
        "x_axis_sort_asc": True,
        "markerEnabled": markers,
    }


def _line(chart: dict, metrics: list, dataset: dict) -> dict:
    return _timeseries(chart, metrics, markers=True)


def _bar(chart: dict, metrics: list, dataset: dict) -> dict:
    stacked = bool(chart.get("group_by")) or len(metrics) > 1
    return _timeseries(chart, metrics, markers=False) | {
        "stack": "Stack" if stacked else None,
        "orientation": "vertical",
    }


def _pie(chart: dict, metrics: list, dataset: dict) -> dict:
    return {
        "metric": metrics[0],
        "groupby": chart.get("group_by", []),
        "show_labels": True,
        "show_legend": True,
        "label_type": "key_value_percent",
        "number_format": "SMART_NUMBER",
        "sort_by_metric": True,
    }


def _funnel(chart: dict, metrics: list, dataset: dict) -> dict:
    return _pie(chart, metrics, dataset) | {"legendOrientation": "top"}


def _table(chart: dict, metrics: list, dataset: dict) -> dict:
    """Returns a table's params: raw ``columns`` (optionally ordered), or ``metrics`` per ``group_by``; ``formats``
    per column."""
    shared = {"server_pagination": False, "table_timestamp_format": "smart_date", "include_search": False}
    formats = {"column_config": {c: {"d3NumberFormat": f} for c, f in chart.get("formats", {}).items()}}
    if "columns" in chart:
        order = chart.get("order_by")
        raw = {
            "query_mode": "raw",
            "all_columns": chart["columns"],
            "order_by_cols": [json.dumps([order, False])] if order else [],
        }
        return raw | shared | formats
    aggregate = {
        "query_mode": "aggregate",
        "groupby": chart.get("group_by", []),
        "metrics": metrics,
        "all_columns": [],
        "percent_metrics": [],
        "order_desc": True,
    }
    return aggregate | shared | formats


# Each chart type of the spec: Superset's viz type, and its params from the chart's spec, metrics and dataset.
_TYPES = {
    "big_number": ("big_number_total", _big_number),
    "line": ("echarts_timeseries_line", _line),
    "bar": ("echarts_timeseries_bar", _bar),
    "pie": ("pie", _pie),
    "funnel": ("funnel", _funnel),
    "table": ("table", _table),
}


def _chart(key: str, chart: dict, dataset: dict) -> dict:
    viz, params_of = _TYPES[chart["type"]]
    params = {
        "viz_type": viz,
        "datasource": "0__table",  # the importer points it at the dataset by dataset_uuid
        "adhoc_filters": _filters(chart),
        "time_range": "No filter",
        "extra_form_data": {},
        "dashboards": [],
        "row_limit": chart.get("limit", 10000),
    }
    return {
        "slice_name": chart["title"],
        "description": chart.get("description"),
        "certified_by": None,
        "certification_details": None,
        "viz_type": viz,
        "params": params | params_of(chart, _metrics(key, chart, dataset), dataset),
        "query_context": None,
        "cache_timeout": None,
        "dataset_uuid": dataset["uuid"],
        **_managed("chart", key),
    }


def _dashboard(key: str, dashboard: dict, charts: dict) -> dict:
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": dashboard["title"]}},
    }
    for r, row in enumerate(dashboard["rows"]):
        row_id = f"ROW-{key}-{r}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for chart_key, width in row.items():
            chart_id = f"CHART-{chart_key}"
            position[row_id]["children"].append(chart_id)
            height = 25 if _is_small(charts[chart_key]) else 50
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "width": width,
                    "height": height,
                    "chartId": 0,
                    "uuid": object_uuid("chart", chart_key),
                    "sliceName": charts[chart_key]["title"],
                },
            }
    filters = [_native_filter(key, i, f) for i, f in enumerate(dashboard.get("filters", []))]
    return {
        "dashboard_title": dashboard["title"],
        "description": None,
        "css": "",
        "slug": f"retail-{key}",
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "position": position,
        "metadata": {
            "refresh_frequency": dashboard.get("refresh_seconds", 0),
            "timed_refresh_immune_slices": [],
            "expanded_slices": {},
            "default_filters": "{}",
            "color_scheme": "supersetColors",
            "label_colors": {},
            "cross_filters_enabled": False,
            "native_filter_configuration": filters,
        },
        **_managed("dashboard", key),
    }


def _is_small(chart: dict) -> bool:
    """A single figure, or a table of one row of figures: a short tile."""
    plain_table = chart["type"] == "table" and not chart.get("group_by") and "columns" not in chart
    return chart["type"] == "big_number" or plain_table


def _native_filter(dashboard: str, index: int, spec: dict) -> dict:
    body = {
        "id": f"NATIVE_FILTER-{dashboard}-{index}",
        "name": spec["name"],
        "type": "NATIVE_FILTER",
        "description": "",
        "cascadeParentIds": [],
        "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
    }
    if spec["type"] == "time":
        return body | {"filterType": "filter_time", "targets": [{}], "controlValues": {}}
    return body | {
        "filterType": "filter_select",
        "targets": [{"column": {"name": spec["column"]}, "datasetUuid": object_uuid("dataset", spec["dataset"])}],
        "controlValues": {
            "multiSelect": True,
            "enableEmptyFilter": False,
            "defaultToFirstItem": False,
            "inverseSelection": False,
            "searchAllOptions": False,
        },
    }
