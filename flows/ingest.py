"""``ingest-batch``: CSV batch files from the inbox through bronze and silver."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.reports import publish_quality_report
from flows.tasks import ENTITY_ORDER, ingest_csv_file
from retail.settings import Settings


def entity_of(path: Path) -> str | None:
    """Returns the entity a CSV file holds, from its name (``<anything>-<entity>.csv``)."""
    stem = path.stem.rsplit("-", 1)[-1]
    return stem if stem in ENTITY_ORDER else None


def in_entity_order(paths) -> list[tuple[Path, str]]:
    """Returns (file, entity) for every file whose name names an entity, customers first."""
    known = [(p, entity_of(p)) for p in paths if entity_of(p)]
    return sorted(known, key=lambda pe: ENTITY_ORDER.index(pe[1]))


@flow(name="ingest-batch", log_prints=True)
def ingest_batch(files: list[str] | None = None) -> list[dict]:
    """Ingests ``files`` (default: every CSV file in the inbox), customers first; an ingested inbox file moves to
    ``done/``, one whose header does not fit its entity (or with a quote never closed) to ``rejected/``. A file
    whose name names no entity is left where it is and reported."""
    settings = Settings()
    paths = [Path(f) for f in files] if files else sorted(settings.inbox_path.glob("*.csv"))
    unknown = [str(p) for p in paths if entity_of(p) is None]
    if unknown:
        print(f"left alone, no entity in the name (<name>-<entity>.csv): {unknown}")
    reports = ingest_in_order(settings, paths)
    rejected = [r["file"] for r in reports if "rejected" in r]
    if rejected:
        print(f"{len(rejected)} file(s) rejected (header or quoting), moved to {settings.inbox_path / 'rejected'}")
    publish_quality_report(settings)
    return reports


def ingest_in_order(settings: Settings, paths) -> list[dict]:
    """Ingests every file whose name names an entity, customers first; a file from the inbox then moves to
    ``done/`` there, so the next run does not take it again (it would add nothing, but costs a pass), or to
    ``rejected/`` with a ``<name>.reason.txt`` when its header does not fit the entity's contract or a quote is
    never closed."""
    reports = []
    for path, entity in in_entity_order(paths):
        report = ingest_csv_file(settings, str(path), entity)
        reports.append(report)
        if path.parent == settings.inbox_path:
            folder = settings.inbox_path / ("rejected" if "rejected" in report else "done")
            folder.mkdir(exist_ok=True)
            path.replace(folder / path.name)
            if "rejected" in report:
                (folder / f"{path.name}.reason.txt").write_text(report["rejected"] + "\n")
    return reports
