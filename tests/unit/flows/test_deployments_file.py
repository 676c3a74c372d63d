"""Every deployment in deployments/prefect.yaml points at a flow that imports, the stream modes are as the file says
(the supervisor, the live stream, on; the catch-up fallback off), and the deployments README's table says what the
file does."""

import importlib

import pytest
import yaml
from prefect import Flow

from retail.settings import REPO_ROOT

DEPLOYMENTS = yaml.safe_load((REPO_ROOT / "deployments" / "prefect.yaml").read_text())["deployments"]


def flow_of(deployment: dict) -> Flow:
    path, name = deployment["entrypoint"].split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_every_entrypoint_is_a_flow(deployment):
    assert isinstance(flow_of(deployment), Flow)


def test_the_readme_table_lists_every_deployment_as_the_file_schedules_it():
    rows = {}
    for line in (REPO_ROOT / "deployments" / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1]
    expected = {f"{flow_of(d).name}/{d['name']}": d.get("schedules", []) for d in DEPLOYMENTS}

    assert set(rows) == set(expected)
    for name, schedules in expected.items():
        assert rows[name].startswith("on demand") == (not schedules), name
        assert (", off" in rows[name]) == any(not s.get("active", True) for s in schedules), name


def test_live_stream_is_the_default_and_the_catch_up_its_fallback():
    active = {d["name"]: all(s.get("active", True) for s in d.get("schedules", [])) for d in DEPLOYMENTS}

    assert active["every-minute"] and not active["every-5-minutes"]
