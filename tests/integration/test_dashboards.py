"""The pages people open, in a real browser (headless Debian Chromium driven by playwright-core): every Superset
dashboard renders every chart from a real gold build and shows the figures gold has, the Prefect UI shows a flow
run's data-quality artifact, and the dbt docs site of the published gold shows its lineage graph."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import requests
import yaml
from prefect import flow
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.reports import publish_quality_report
from retail.cassandra import CassandraTarget
from retail.dashboards.bundle import SPEC, build, object_uuid
from retail.dashboards.live import refresh
from retail.dashboards.secrets import read_secrets
from retail.dashboards.superset import Superset, import_dashboards, superset_url
from retail.gold import build_gold
from retail.settings import REPO_ROOT

pytestmark = pytest.mark.integration

BROWSER = REPO_ROOT / "tests" / "browser"
SCREENSHOTS = REPO_ROOT / "tests" / "browser" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@flow(name="dashboards-test-quality")
def quality_report(settings):
    return publish_quality_report(settings)


@pytest.fixture
def published(silver_lake, stack_settings, tmp_path):
    """Gold built from the test's silver, its live file written once from the test's keyspace, the dashboards
    imported pointing at both; yields the settings and points Superset back at the stack's own gold afterwards."""
    settings = silver_lake.model_copy(update={"live_path": tmp_path / "live" / "sales_per_minute.duckdb"})
    build_gold(settings)
    session = CassandraTarget.from_settings(settings).connect().connect()
    try:
        refresh(settings, session)
    finally:
        session.cluster.shutdown()
    import_dashboards(settings)
    yield settings
    import_dashboards(stack_settings)


def run_browser(pages: dict, deadline_s: float) -> dict:
    assert shutil.which("node"), "node is needed for the browser test"
    done = subprocess.run(
        ["node", str(BROWSER / "pages.mjs")],
        env={**os.environ, "PAGES": json.dumps(pages)},
        capture_output=True,
        text=True,
        timeout=deadline_s,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"the browser printed nothing: {done.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert done.returncode == 0, json.dumps(result, indent=1)[:6000]
    return result


def test_every_page_renders_and_the_dashboards_show_what_gold_has(published, spark, own_prefect, deadline):
    settings = published
    # The session's own Prefect: the user's newest data-quality artifact stays their stream's, not this test's.
    api = own_prefect.settings.endpoints().prefect_api_url
    with temporary_settings({PREFECT_API_URL: api}):
        state = quality_report(settings, return_state=True)
    run_page = f"{api.removesuffix('/api')}/runs/flow-run/{state.state_details.flow_run_id}"
    docs_port = free_port()
    docs = subprocess.Popen(
        [str(Path(sys.executable).parent / "retail"), "dashboards", "docs", "--port", str(docs_port)],
        env={**os.environ, "RETAIL_GOLD_PATH": str(settings.gold_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        docs_url = f"http://127.0.0.1:{docs_port}/"
        docs_deadline = time.monotonic() + deadline(120)
        while True:
            try:
                requests.get(docs_url, timeout=2).raise_for_status()
                break
            except requests.RequestException:
                assert docs.poll() is None and time.monotonic() < docs_deadline, docs.stdout.read().decode()[-2000:]
                time.sleep(0.5)
        secrets = read_secrets(settings.stack.home / "superset")
        bundle = build(settings)
        url = superset_url(settings)
        result = run_browser(
            {
                "superset": {
                    "url": url,
                    "user": secrets.admin_user,
                    "password": secrets.admin_password.get_secret_value(),
                    "dashboards": {
                        key: f"{url}/superset/dashboard/{bundle.files[f'dashboards/{key}.yaml']['slug']}/"
                        for key in bundle.dashboards
                    },
                },
                "prefect": {"url": run_page, "expect": ["data-quality"]},
                "dbt_docs": {"url": docs_url},
                "screenshots": str(SCREENSHOTS),
            },
            deadline(1200),
        )
    finally:
        docs.terminate()
        docs.wait(deadline(30))

    print(json.dumps({k: v["seconds"] for k, v in result["dashboards"].items()}), result["screenshots"])
    sales = result["dashboards"]["sales"]["charts"]
    spec = yaml.safe_load(SPEC.read_text())["dashboards"]
    for key, shown in result["dashboards"].items():
        assert len(shown["charts"]) == sum(len(row) for row in spec[key]["rows"]), key  # every chart, rendered
    with duckdb.connect(str(settings.gold_path / "current" / "warehouse.duckdb"), read_only=True) as gold:
        revenue, orders, newest = gold.execute(
            "select sum(total_amount), count(*), strftime(max(purchased_at), '%Y-%m-%d %H:%M') from fct_purchases"
        ).fetchone()
        top = gold.execute("select product_id from product_performance order by revenue desc limit 1").fetchone()[0]
        reason = gold.execute(
            "select entity, reason, sum(row_count) as n from daily_data_quality where outcome = 'quarantined'"
            " group by all order by n desc, entity, reason limit 1"
        ).fetchone()
    assert sales["Revenue"]["text"].split("\n")[-1] == f"{revenue:,.2f}"
    assert sales["Orders"]["text"].split("\n")[-1] == f"{orders:,}"
    assert newest in sales["Data as of"]["text"]
    assert re.search(r"\bP\d{4}\b", sales["Top products"]["text"]).group() == top  # the first row is the best seller
    reasons = result["dashboards"]["quality"]["charts"]["Quarantined rows by reason"]["text"]
    assert f"{reason[0]}\t{reason[1]}\t\n{reason[2]}" in reasons
    assert result["prefect"]["found"] == {"data-quality": True}
    assert result["dbt_docs"]["lineage_graph"] is True
    assert all(Path(p).stat().st_size > 10_000 for p in result["screenshots"])


def test_an_import_updates_what_is_there_and_removes_what_the_repo_dropped(stack_settings, tmp_path):
    import_dashboards(stack_settings)
    api = Superset(stack_settings)
    before = api.managed("chart")
    spec = yaml.safe_load(SPEC.read_text())
    del spec["charts"]["live_refreshed"]
    del spec["dashboards"]["live"]["rows"][0]["live_refreshed"]
    spec["charts"]["live_orders"]["title"] = "Orders, last hour"
    (tmp_path / "dashboards.yml").write_text(yaml.safe_dump(spec))

    try:
        result = import_dashboards(stack_settings, tmp_path / "dashboards.yml")
        after = api.managed("chart")
        titles = {r["slice_name"] for r in api.get("chart", columns=["slice_name"], page_size=100)["result"]}
    finally:
        import_dashboards(stack_settings)

    assert set(before) - set(after) == {object_uuid("chart", "live_refreshed")}
    assert len(result.deleted) == 1
    assert "Orders, last hour" in titles and "Orders in the last hour" not in titles
    assert set(api.managed("chart")) == set(before)  # the full import brings it back
