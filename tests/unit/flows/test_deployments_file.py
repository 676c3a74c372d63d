"""Every deployment in deployments/prefect.yaml points at a flow that imports, and the stream modes are as the
file says: the supervisor (live stream) on, the catch-up fallback off."""

import importlib

import pytest
import yaml
from prefect import Flow

from retail.settings import REPO_ROOT

DEPLOYMENTS = yaml.safe_load((REPO_ROOT / "deployments" / "prefect.yaml").read_text())["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_every_entrypoint_is_a_flow(deployment):
    path, name = deployment["entrypoint"].split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))

    assert isinstance(getattr(module, name), Flow)


def test_live_stream_is_the_default_and_the_catch_up_its_fallback():
    active = {d["name"]: all(s.get("active", True) for s in d.get("schedules", [])) for d in DEPLOYMENTS}

    assert active["every-minute"] and not active["every-5-minutes"]
