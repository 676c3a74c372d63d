"""``build-gold``: dbt builds, tests and publishes gold from silver; one build at a time."""

from __future__ import annotations

from prefect import flow

from flows.reports import publish_freshness_report, publish_gold_report
from flows.tasks import publish_gold_build
from retail.settings import Settings


@flow(name="build-gold", log_prints=True)
def build_gold_flow() -> dict:
    """Builds gold and publishes its headline figures and freshness."""
    settings = Settings()
    gold = publish_gold_build(settings)
    print(f"gold {gold['build_id']} published in {gold['seconds']} s at {gold['path']}")
    publish_gold_report(gold)
    publish_freshness_report(settings)
    return gold
