"""Which Superset objects an import deletes, without Superset: only what an earlier import of this project made."""

from retail.dashboards.bundle import build, object_uuid
from retail.dashboards.superset import bundle_uuids, stale
from retail.settings import Settings

OURS = {kind: object_uuid(kind, "kept") for kind in ("database", "dataset", "chart", "dashboard")}
DROPPED = {kind: object_uuid(kind, "dropped") for kind in ("database", "dataset", "chart", "dashboard")}
ELSEWHERE = "5b0c8b57-0000-4000-8000-000000000001"  # a chart someone made by hand, managed externally or not


def test_only_what_this_project_imported_and_dropped_is_deleted_dependents_first():
    present = {
        "database": {OURS["database"]: 1, DROPPED["database"]: 2},
        "dataset": {OURS["dataset"]: 10, DROPPED["dataset"]: 11, ELSEWHERE: 12},
        "chart": {OURS["chart"]: 20, DROPPED["chart"]: 21, ELSEWHERE: 22},
        "dashboard": {OURS["dashboard"]: 30, DROPPED["dashboard"]: 31},
    }
    imported = {kind: [OURS[kind], DROPPED[kind]] for kind in OURS}
    wanted = {kind: {OURS[kind]} for kind in OURS}

    assert stale(present, imported, wanted) == [
        ("dashboard", DROPPED["dashboard"], 31),
        ("chart", DROPPED["chart"], 21),
        ("dataset", DROPPED["dataset"], 11),
        ("database", DROPPED["database"], 2),
    ]


def test_nothing_is_deleted_without_a_record_of_an_earlier_import_or_once_it_is_gone():
    present = {"chart": {DROPPED["chart"]: 21, ELSEWHERE: 22}}

    assert stale(present, {}, {"chart": {OURS["chart"]}}) == []
    assert stale({"chart": {}}, {"chart": [DROPPED["chart"]]}, {"chart": set()}) == []  # deleted by hand since


def test_the_bundle_wants_every_object_it_holds(tmp_path):
    bundle = build(Settings(gold_path=tmp_path / "gold", live_path=tmp_path / "live.duckdb"))

    uuids = bundle_uuids(bundle)

    assert uuids["chart"] == set(bundle.charts.values())
    assert uuids["dashboard"] == set(bundle.dashboards.values())
    assert uuids["database"] == {object_uuid("database", "gold"), object_uuid("database", "live")}
    assert object_uuid("dataset", "fct_purchases") in uuids["dataset"]
