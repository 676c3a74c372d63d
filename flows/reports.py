"""Tasks that publish what a run did as Prefect artifacts: data quality per entity, gold headline figures, and
freshness per table. Each returns the artifact's id."""

from __future__ import annotations

import contextlib

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.tasks import flow_spark
from retail.settings import Settings


@task(retries=1, timeout_seconds=600, cache_policy=NO_CACHE)
def publish_quality_report(settings: Settings) -> object:
    """Table artifact ``data-quality``: per entity, bronze rows in, silver rows, quarantined rows per rule,
    duplicates removed, late events and released purchases, summed over every batch."""
    from spark.silver.audit import quality
    from spark.silver.job import SilverTargets

    rows = quality(flow_spark(settings), SilverTargets.under(settings.lake()))
    return create_table_artifact(rows, key="data-quality", description="Silver data quality, per entity, all batches")


@task(retries=1, timeout_seconds=600, cache_policy=NO_CACHE)
def publish_freshness_report(settings: Settings) -> object:
    """Table artifact ``freshness``: per silver and gold table, the newest event time and how far behind now."""
    from retail.gold import GoldError, current, freshness
    from spark.silver.audit import freshness as silver_freshness
    from spark.silver.job import SilverTargets

    rows = silver_freshness(flow_spark(settings), SilverTargets.under(settings.lake()))
    with contextlib.suppress(GoldError):  # nothing published yet: silver alone
        rows += freshness(current(settings) / "warehouse.duckdb")
    return create_table_artifact(rows, key="freshness", description="Newest event time per table, against now")


@task(timeout_seconds=60, cache_policy=NO_CACHE)
def publish_gold_report(gold: dict) -> object:
    """Markdown artifact ``gold-headline``: the published build, rows per mart, totals, customers per segment and
    revenue per day."""
    figures = gold["headline"]
    lines = [
        f"# Gold {gold['build_id']}",
        f"Published at `{gold['path']}` in {gold['seconds']} s.",
        "",
        f"**Revenue** {figures['revenue']} · **orders** {figures['orders']:,} · **units** {figures['units']:,}",
        "",
        "| mart | rows |",
        "|---|---:|",
        *(f"| {mart} | {n:,} |" for mart, n in gold["rows"].items()),
        "",
        "| segment | customers |",
        "|---|---:|",
        *(f"| {segment} | {n:,} |" for segment, n in figures["customers_per_segment"].items()),
        "",
        "| day | revenue |",
        "|---|---:|",
        *(f"| {day} | {revenue} |" for day, revenue in figures["revenue_per_day"].items()),
    ]
    return create_markdown_artifact("\n".join(lines), key="gold-headline", description="Gold headline figures")
