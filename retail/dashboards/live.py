"""The live feed: sales per minute of the last hour, summed every ``live_refresh_s`` seconds from Cassandra's
``sales_by_minute`` (every purchase, written by the fresh path as it is read and corrected by silver) into a small
DuckDB file that Superset's live dashboard reads.

Each refresh writes a new file beside the old one and renames it over it: a query that has the old file open
finishes on it, the next opens the new one; Superset never sees a half-written file and never blocks the feed.
Minutes without sales are there with zeros, so the chart always spans the whole hour.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from retail.settings import Settings

TABLE = "sales_per_minute"
WINDOW = timedelta(hours=1)
log = logging.getLogger("retail.live")


def window(now: datetime) -> list[datetime]:
    """Returns the 60 whole minutes before ``now``'s minute and that minute itself, oldest first, naive UTC."""
    newest = now.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)
    return [newest - timedelta(minutes=m) for m in range(int(WINDOW.total_seconds() // 60), -1, -1)]


def last_hour(totals: dict[datetime, tuple], now: datetime) -> list[tuple[datetime, Decimal, int, int]]:
    """Returns each minute of ``now``'s window with its (revenue, orders, units) from ``totals`` (zeros where it has
    none), oldest first."""
    return [(m, *totals.get(m, (Decimal(0), 0, 0))) for m in window(now)]


def read_totals(session, keyspace: str, now: datetime) -> dict[datetime, tuple]:
    """Returns Cassandra's sales of each minute of ``now``'s window (every purchase the fresh path or silver wrote
    in it); none while the stream has not made the keyspace or table yet."""
    from cassandra import InvalidRequest

    from retail.cassandra.tables import minute_totals

    try:
        return {m.replace(tzinfo=None): v for m, v in minute_totals(session, keyspace, window(now)).items()}
    except InvalidRequest as err:
        if "does not exist" not in str(err) and "unconfigured table" not in str(err):
            raise
    return {}


def write(path: Path, rows: list[tuple], refreshed_at: datetime) -> None:
    """Replaces the live file at ``path`` with ``rows`` in one rename."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fresh.unlink(missing_ok=True)
    with duckdb.connect(str(fresh)) as db:
        db.execute(
            f"create table {TABLE} (minute timestamp, revenue decimal(18, 2), orders bigint, units bigint,"
            " refreshed_at timestamp)"
        )
        stamp = refreshed_at.astimezone(UTC).replace(tzinfo=None)
        db.executemany(f"insert into {TABLE} values (?, ?, ?, ?, ?)", [(*r, stamp) for r in rows])
    os.replace(fresh, path)


def refresh(settings: Settings, session) -> int:
    """Copies the last hour once; returns the orders in it."""
    now = datetime.now(UTC)
    rows = last_hour(read_totals(session, settings.cassandra_keyspace, now), now)
    write(settings.live_path, rows, now)
    return sum(r[2] for r in rows)


def run(settings: Settings) -> None:
    """Refreshes the live file forever; a Cassandra that is down or has no table yet leaves the last file in place
    and is tried again at the next tick, as is a file that could not be written (said once in the log, not at
    every tick)."""
    import duckdb
    from cassandra import DriverException
    from cassandra.cluster import NoHostAvailable

    from retail.cassandra import CassandraTarget

    target = CassandraTarget.from_settings(settings)
    session, failing = None, None
    log.info(
        "live feed: %s.%s every %.1f s into %s",
        target.keyspace,
        TABLE,
        settings.stack.live_refresh_s,
        settings.live_path,
    )
    while True:
        began = time.monotonic()
        try:
            if session is None:
                session = target.connect().connect()
            orders = refresh(settings, session)
            if failing:
                log.info("live feed: refreshing again (%d orders in the last hour)", orders)
            failing = None
        except (DriverException, NoHostAvailable, OSError, duckdb.Error) as err:
            if str(err) != failing:
                log.warning(
                    "live feed: cannot refresh (%s); trying again every %.1f s", err, settings.stack.live_refresh_s
                )
            failing = str(err)
            if isinstance(err, NoHostAvailable) and session is not None:
                session.cluster.shutdown()
                session = None
        time.sleep(max(0.0, settings.stack.live_refresh_s - (time.monotonic() - began)))


def is_fresh(path: Path, within_s: float) -> bool:
    """Returns whether the live file was rewritten in the last ``within_s`` seconds."""
    try:
        return time.time() - path.stat().st_mtime < within_s
    except FileNotFoundError:
        return False


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run(Settings())
