"""`retail dashboards import` against the stack's Superset: it deletes what an earlier import of this project made and
the file dropped (a dataset included), never what was made elsewhere, even when that is managed externally too."""

import uuid

import pytest
import yaml

from retail.dashboards.bundle import SPEC, Bundle, build, object_uuid
from retail.dashboards.superset import Superset, import_dashboards

pytestmark = pytest.mark.integration


def _elsewhere_chart(settings) -> tuple[Bundle, str]:
    """Returns a bundle of another project's chart (its own uuid, managed externally) over our gold dataset."""
    ours = build(settings)
    chart = dict(ours.files["charts/revenue.yaml"], uuid=str(uuid.uuid4()), slice_name="Made elsewhere")
    dataset = next(p for p, f in ours.files.items() if p.startswith("datasets/") and f["uuid"] == chart["dataset_uuid"])
    database = next(
        p
        for p, f in ours.files.items()
        if p.startswith("databases/") and f["uuid"] == ours.files[dataset]["database_uuid"]
    )
    files = {p: ours.files[p] for p in ("metadata.yaml", dataset, database)} | {"charts/elsewhere.yaml": chart}
    return Bundle(files, {"elsewhere": chart["uuid"]}, {}), chart["uuid"]


def test_an_import_removes_a_dropped_dataset_and_leaves_what_was_made_elsewhere(stack_settings, tmp_path):
    import_dashboards(stack_settings)
    api = Superset(stack_settings)
    other, other_uuid = _elsewhere_chart(stack_settings)
    response = api.http.post(
        f"{api.url}/api/v1/chart/import/",
        files={"formData": ("bundle.zip", other.zip(), "application/zip")},
        data={"overwrite": "true"},
        timeout=api.timeout_s,
    )
    assert response.ok, response.text
    spec = yaml.safe_load(SPEC.read_text())
    del spec["datasets"]["session_funnel"]
    dropped = [key for key, chart in spec["charts"].items() if chart["dataset"] == "session_funnel"]
    for key in dropped:
        del spec["charts"][key]
    for dashboard in spec["dashboards"].values():
        rows = [{k: w for k, w in row.items() if k not in dropped} for row in dashboard["rows"]]
        dashboard["rows"] = [row for row in rows if row]
    (tmp_path / "dashboards.yml").write_text(yaml.safe_dump(spec))

    try:
        result = import_dashboards(stack_settings, tmp_path / "dashboards.yml")
        datasets, charts = api.ids("dataset"), api.ids("chart")
    finally:
        import_dashboards(stack_settings)
        if other_uuid in (now := api.ids("chart")):
            api.delete("chart", now[other_uuid])

    assert object_uuid("dataset", "session_funnel") not in datasets
    assert not {object_uuid("chart", key) for key in dropped} & set(charts)
    assert other_uuid in charts  # managed externally, but not by this project's imports
    assert len(result.deleted) == 1 + len(dropped)
    assert object_uuid("dataset", "session_funnel") in api.ids("dataset")  # the full import brings it back
