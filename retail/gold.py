"""Gold: dbt-duckdb builds the marts from silver into a new DuckDB warehouse, they are exported as Parquet and CSV,
and the build is published by swapping one symbolic link.

Layout under ``settings.gold_path``::

    builds/<build id>/warehouse.duckdb     the marts (and staging views) of one build
    builds/<build id>/parquet/<mart>.parquet, csv/<mart>.csv
    builds/<build id>/docs/                dbt docs (index.html, manifest.json, catalog.json) of that build
    current -> builds/<build id>           what readers open; replaced in one rename, never half-built

A reader of ``current`` is never blocked by a build (builds write their own folder) and never sees a half-built gold.
A lock file keeps two builds from running at once; a crashed build leaves a folder that is not ``current`` and is
pruned later, so running again simply builds again from the same silver, with the same result.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from retail.connections import webhdfs
from retail.contracts import CONTRACTS
from retail.lake import QUARANTINE, RELEASED, SILVER, Dataset, LakeLayout
from retail.settings import REPO_ROOT, Settings

DBT_PROJECT = REPO_ROOT / "dbt"
MARTS = (
    "dim_customers",
    "fct_purchases",
    "daily_sales_summary",
    "product_performance",
    "fct_sessions",
    "daily_funnel",
    "daily_data_quality",
)


class GoldError(RuntimeError):
    """A gold build could not start or did not pass; the message says why and what to do."""


@dataclass(frozen=True)
class GoldBuild:
    """One published gold build: where it is, how long it took, rows per mart and the headline figures."""

    build_id: str
    path: Path
    seconds: float
    rows: dict[str, int]
    headline: dict[str, object]

    @property
    def warehouse(self) -> Path:
        """Returns the build's DuckDB file."""
        return self.path / "warehouse.duckdb"


def gold_lake(settings: Settings) -> LakeLayout:
    """Returns the lake as dbt reads it: through WebHDFS on the stack, or the local folder of the local target."""
    if settings.gold_source == "local":
        return LakeLayout(str(settings.local_lake_path))
    url = urlparse(settings.endpoints().webhdfs_url)
    return LakeLayout(f"webhdfs://{url.hostname}:{url.port}/{settings.lake_path.strip('/')}")


GOLD_SOURCES = {dataset.name.removeprefix("silver_"): dataset for dataset in (*SILVER.values(), QUARANTINE, RELEASED)}


def _exists(settings: Settings, dataset: Dataset) -> bool:
    if settings.gold_source == "local":
        return Path(LakeLayout(str(settings.local_lake_path)).path(dataset)).is_dir()
    return webhdfs(settings).exists(LakeLayout(settings.lake_path).path(dataset))


def source_vars(settings: Settings) -> dict[str, object]:
    """Returns where each dbt source reads its files (``locations``: by source table, the declared dataset's
    Parquet files, one level per partition column) and which of the quarantine and released datasets exist (a lake
    where nothing was ever rejected has neither)."""
    lake = gold_lake(settings)
    return {
        "locations": {name: lake.files(dataset) for name, dataset in GOLD_SOURCES.items()},
        "has_quarantine": _exists(settings, QUARANTINE),
        "has_released": _exists(settings, RELEASED),
    }


def current(settings: Settings) -> Path:
    """Returns the folder of the published gold build; raises GoldError when nothing is published yet."""
    link = settings.gold_path / "current"
    if not link.exists():
        raise GoldError(f"no gold published under {settings.gold_path} yet: run `retail gold build`")
    return link.resolve()


def build_gold(
    settings: Settings, *, wait_s: float = 0.0, progress: Callable[[str], None] = lambda line: None
) -> GoldBuild:
    """Builds, tests, exports and publishes gold from silver; returns the published build. Waits up to ``wait_s``
    for a build already running, then raises GoldError. ``progress`` hears of each step and each dbt model and
    test as it finishes."""
    _check_silver(settings)
    settings.gold_path.mkdir(parents=True, exist_ok=True)
    with _build_lock(settings.gold_path, wait_s):
        began = time.perf_counter()
        build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
        folder = settings.gold_path / "builds" / build_id
        folder.mkdir(parents=True)
        values = {"gold_db": str(folder / "warehouse.duckdb"), **source_vars(settings)}
        if settings.gold_source == "hdfs":
            url = urlparse(settings.endpoints().webhdfs_url)
            values |= {"webhdfs_host": url.hostname or "", "webhdfs_port": url.port, "webhdfs_user": settings.hdfs_user}
        common = (
            "--target",
            settings.gold_source,
            "--vars",
            json.dumps(values),
            "--log-path",
            str(settings.gold_path / "logs"),
        )
        progress(f"dbt build into {folder.name}")
        run_dbt("build", *common, "--target-path", str(settings.gold_path / "dbt-target"), progress=progress)
        progress("dbt docs generate")
        run_dbt("docs", "generate", *common, "--target-path", str(folder / "docs"))
        progress("export Parquet and CSV, publish")
        rows = _export(folder)
        _publish(settings.gold_path, folder)
        _prune(settings.gold_path, settings.gold_keep_builds)
        return GoldBuild(build_id, folder, time.perf_counter() - began, rows, headline(folder / "warehouse.duckdb"))


def run_dbt(*args: str, progress: Callable[[str], None] | None = None) -> None:
    """Runs one dbt command on the project in-process (one invocation at a time), telling ``progress`` of each node
    (model, test) as it finishes; raises GoldError listing every model or test that did not pass."""
    from dbt.cli.main import dbtRunner

    def on_event(event) -> None:
        if progress is not None and event.info.name in _NODE_RESULTS:
            progress(event.info.msg)

    try:
        command = [*args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
        result = dbtRunner(callbacks=[on_event]).invoke(command)
    finally:
        _close_duckdb()
    if result.success:
        return
    failed = []
    for node in getattr(result.result, "results", None) or []:
        if str(node.status) not in ("success", "pass", "skipped"):
            failed.append(f"{node.node.name}: {node.status} {node.message or ''}".strip())
    detail = "; ".join(failed) if failed else str(result.exception)
    raise GoldError(f"dbt {' '.join(args)} failed: {detail}")


_NODE_RESULTS = {"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"}


def _close_duckdb() -> None:
    # dbt-duckdb keeps its DuckDB instance open for the life of the process; the warehouse is opened again right
    # after (export, figures, the next command), and DuckDB refuses a second instance with other settings.
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    if DuckDBConnectionManager._ENV is not None:
        DuckDBConnectionManager._ENV.close()
    DuckDBConnectionManager.close_all_connections()


def headline(warehouse: Path) -> dict[str, object]:
    """Returns the headline figures of one warehouse: revenue per day, orders per customer, customers per
    segment, and the totals."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as db:
        per_day = db.execute("select sale_date, revenue, orders from daily_sales_summary order by sale_date").fetchall()
        segments = db.execute(
            "select segment, count(*) from dim_customers group by segment order by segment"
        ).fetchall()
        orders = db.execute("select customer_id, total_orders from dim_customers where total_orders > 0").fetchall()
        totals = db.execute("select sum(revenue), sum(orders), sum(units) from daily_sales_summary").fetchone()
    return {
        "revenue_per_day": {str(day): revenue for day, revenue, _ in per_day},
        "orders_per_customer": dict(orders),
        "customers_per_segment": dict(segments),
        "revenue": totals[0],
        "orders": totals[1],
        "units": totals[2],
    }


def freshness(warehouse: Path) -> list[dict[str, object]]:
    """Returns one row per gold fact table: its newest event time (UTC) and how far that is behind now."""
    import duckdb

    newest = {"fct_purchases": "purchased_at", "fct_sessions": "ended_at", "dim_customers": "signed_up_at"}
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    with duckdb.connect(str(warehouse), read_only=True) as db:
        for table, column in newest.items():
            value = db.execute(f"select max({column}) from {table}").fetchone()[0]
            rows.append(
                {
                    "table": f"gold.{table}",
                    "newest_event": value.isoformat() if value else None,
                    "behind_seconds": round((now - value).total_seconds()) if value else None,
                }
            )
    return rows


def _check_silver(settings: Settings) -> None:
    try:
        missing = [e for e in CONTRACTS if not _exists(settings, SILVER[e])]
    except RuntimeError as error:  # WebHDFS does not answer
        raise GoldError(str(error)) from None
    if missing:
        where = settings.local_lake_path if settings.gold_source == "local" else settings.lake_path
        raise GoldError(f"no silver {', '.join(missing)} under {where} yet: run the stream or a batch through silver")


@contextlib.contextmanager
def _build_lock(gold_path: Path, wait_s: float) -> Iterator[None]:
    with (gold_path / ".build.lock").open("a+") as lock:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    lock.seek(0)
                    raise GoldError(
                        f"another gold build holds {lock.name} ({lock.read().strip()}); wait for it to finish"
                    ) from None
                time.sleep(0.5)
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _export(folder: Path) -> dict[str, int]:
    import duckdb

    (folder / "parquet").mkdir()
    (folder / "csv").mkdir()
    rows = {}
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as db:
        for mart in MARTS:
            db.execute(f"copy {mart} to '{folder / 'parquet' / mart}.parquet' (format parquet)")
            db.execute(f"copy {mart} to '{folder / 'csv' / mart}.csv' (format csv, header)")
            rows[mart] = db.execute(f"select count(*) from {mart}").fetchone()[0]
    return rows


def _publish(gold_path: Path, folder: Path) -> None:
    staged = gold_path / f".current-{folder.name}"
    staged.symlink_to(folder.relative_to(gold_path))
    os.replace(staged, gold_path / "current")  # one rename: readers see the old build or the new, never neither


def _prune(gold_path: Path, keep: int) -> None:
    live = (gold_path / "current").resolve()
    builds = sorted((gold_path / "builds").iterdir(), key=lambda p: p.name, reverse=True)
    for old in builds[max(keep, 1) :]:
        if old.resolve() != live:
            shutil.rmtree(old, ignore_errors=True)
