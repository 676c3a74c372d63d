"""Freshness of the live dashboard on the running stack; prints figures, asserts nothing.

    .venv/bin/python benchmarks/live_view.py [--rounds 5] [--events 400]

Needs the live stream (`retail deploy` starts it) and the stack's live feed and Superset. Each round sends
``--events`` generated events that happen as they are sent (a new seed per round, no bad records) and times, from
the moment Kafka acknowledged the last one, until the round's orders are counted

- in Cassandra's ``sales_by_minute`` (written by the fresh path as it reads them; the baseline: what the feed sums),
- in the live dashboard's query: Superset's chart-data API running "Orders in the last hour" on the live dataset.

The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from retail.cassandra import CassandraTarget
from retail.dashboards.bundle import object_uuid
from retail.dashboards.live import last_hour, read_totals
from retail.dashboards.superset import Superset
from retail.generator import GeneratorConfig, generate, happening_now
from retail.kafka import ensure_topics, produce
from retail.settings import Settings

DEADLINE_S = 600


def cassandra_orders(session, keyspace: str) -> int:
    """Returns the orders of the last hour in Cassandra's sales per minute."""
    now = datetime.now(UTC)
    return sum(row[2] for row in last_hour(read_totals(session, keyspace, now), now))


def superset_orders(api: Superset, dataset_id: int) -> int:
    """Returns the orders of the last hour as the live chart's query answers (never from a cache)."""
    query = {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": True,
        "queries": [{"metrics": [{"expressionType": "SQL", "sqlExpression": "sum(orders)", "label": "orders"}]}],
        "result_format": "json",
        "result_type": "full",
    }
    response = api.http.post(f"{api.url}/api/v1/chart/data", json=query, timeout=60)
    response.raise_for_status()
    return int(response.json()["result"][0]["data"][0]["orders"] or 0)


def main() -> None:
    """Runs the rounds and prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=400)
    args = parser.parse_args()
    settings = Settings()
    api = Superset(settings)
    dataset_id = api.ids("dataset")[object_uuid("dataset", "live_sales")]
    session = CassandraTarget.from_settings(settings).connect().connect()
    ensure_topics(settings)
    rounds = []
    with tempfile.TemporaryDirectory() as work:
        for r in range(args.rounds):
            records = list(itertools.islice(generate(GeneratorConfig(seed=int(time.time()) + r)), args.events))
            orders = sum(1 for rec in records if rec.entity == "purchases")
            before_cassandra = cassandra_orders(session, settings.cassandra_keyspace)
            before_superset = superset_orders(api, dataset_id)
            report = produce(happening_now(records), settings, Path(work) / f"ledger-{r}.jsonl")
            sent = time.monotonic()
            seen: dict[str, float] = {}
            while len(seen) < 2 and time.monotonic() - sent < DEADLINE_S:
                if "cassandra" not in seen and cassandra_orders(session, settings.cassandra_keyspace) >= (
                    before_cassandra + orders
                ):
                    seen["cassandra"] = time.monotonic() - sent
                if "superset" not in seen and superset_orders(api, dataset_id) >= before_superset + orders:
                    seen["superset"] = time.monotonic() - sent
                time.sleep(0.2)
            rounds.append({"events": report.acked, "orders": orders, **{k: round(v, 1) for k, v in seen.items()}})
            print(
                f"round {r + 1}: {orders} orders; visible in Cassandra after {seen.get('cassandra')} s, "
                f"in the live chart's query after {seen.get('superset')} s",
                flush=True,
            )
    session.cluster.shutdown()
    cassandra = [r["cassandra"] for r in rounds if "cassandra" in r]
    superset = [r["superset"] for r in rounds if "superset" in r]
    figures = {
        "benchmark": "live_view",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rounds": rounds,
        "cassandra_median_s": statistics.median(cassandra) if cassandra else None,
        "live_chart_median_s": statistics.median(superset) if superset else None,
        "live_chart_max_s": max(superset) if superset else None,
        "live_chart_vs_cassandra": round(statistics.median(superset) / statistics.median(cassandra), 2)
        if cassandra and superset
        else None,
        "refresh_s": settings.stack.live_refresh_s,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
