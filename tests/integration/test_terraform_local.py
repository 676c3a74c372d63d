"""infra/terraform/envs/local: apply brings a stack up with the right outputs, destroy takes it down.

The test drives a stack of its own (its own home, every port moved by 10,000), never the user's: a stack running
before the tests keeps running, and its data, live feed and Prefect are not shared. The price is a second whole stack
for the length of the test (its apply time, destroy time and memory are printed: pytest -rP)."""

import json
import os
import shutil
import subprocess
import time

import pytest

from retail.dashboards.superset import superset_url
from retail.settings import Settings, StackSettings
from retail.stack import Stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("RETAIL_TEST_STACK", "auto") == "external",
        reason="the local Terraform environment drives the stack's own services, not external ones",
    ),
]

PORT_OFFSET = 10_000  # below the kernel's ephemeral ports (32768 and up), so no client connection takes one
# The module's `ports` variable (client-facing ports) by the StackSettings field each one sets.
MODULE_PORTS = {
    "kafka": "kafka_port",
    "namenode_rpc": "namenode_rpc_port",
    "namenode_http": "namenode_http_port",
    "cassandra": "cassandra_port",
    "spark_master": "spark_master_port",
    "spark_master_ui": "spark_master_ui_port",
    "prefect": "prefect_port",
    "superset": "superset_port",
}


@pytest.fixture
def own_stack(deadline):
    """Returns the settings of the test's own stack: a home beside the user's (kept between sessions, so Superset's
    first-start migrations run once) and every port of the stack moved by PORT_OFFSET. Stops that stack at the end,
    also when apply or destroy failed half-way."""
    defaults = StackSettings().model_dump()
    ports = {name: value + PORT_OFFSET for name, value in defaults.items() if name.endswith("_port")}
    users = Settings().stack  # its artifact cache, Superset environment and heaps are shared
    home = users.home.parent / "test-terraform-stack"
    stack = users.model_copy(update={"home": home, "health_deadline_s": deadline(180), **ports})
    settings = Settings(stack=stack, live_path=home / "live/sales_per_minute.duckdb")
    yield settings
    Stack(settings).down(report=lambda msg: print(f"[terraform stack] {msg}"))


@pytest.fixture
def terraform(tmp_path, repo_root, own_stack, deadline):
    binary = os.environ.get("TERRAFORM") or shutil.which("terraform") or shutil.which("tofu")
    assert binary, "no terraform or tofu binary: run the tests through ./run test, which installs one"
    workdir = tmp_path / "terraform"
    shutil.copytree(repo_root / "infra/terraform", workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    env_dir = workdir / "envs/local"
    # The module passes the client-facing ports and the home to `./run stack up`; the stack's other settings (its
    # internal ports, the live feed's file) reach it from this environment. The user's RETAIL_* settings do not.
    stack = own_stack.stack
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETAIL_")}
    env |= {f"RETAIL_STACK__{name.upper()}": str(value) for name, value in stack.model_dump().items()}
    env |= {"RETAIL_LIVE_PATH": str(own_stack.live_path), "TF_IN_AUTOMATION": "1"}
    module_ports = ", ".join(f"{var} = {getattr(stack, field)}" for var, field in MODULE_PORTS.items())
    variables = [f"-var=cli={repo_root / 'run'}", f"-var=stack_home={stack.home}", f"-var=ports={{{module_ports}}}"]

    def run(*args: str) -> str:
        result = subprocess.run(
            [binary, *args],
            cwd=env_dir,
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=deadline(900),
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    run("init", "-input=false", "-no-color")
    return run, variables


def test_apply_outputs_the_endpoints_and_destroy_stops_the_stack(terraform, own_stack):
    run, variables = terraform
    stack = Stack(own_stack)

    began = time.monotonic()
    run("apply", "-auto-approve", "-input=false", "-no-color", *variables)
    applied = time.monotonic()
    outputs = {k: v["value"] for k, v in json.loads(run("output", "-json")).items()}
    rows = stack.status()
    healthy_after_apply = [r.name for r in rows if r.healthy]
    run("destroy", "-auto-approve", "-input=false", "-no-color", *variables)
    # The price of a stack of its own, for tests/README.md (shown with pytest -rP).
    rss_gib = sum(r.rss_bytes for r in rows) / 2**30
    print(f"apply {applied - began:.0f} s, destroy {time.monotonic() - applied:.0f} s, stack {rss_gib:.1f} GiB RSS")

    endpoints = own_stack.endpoints()
    assert outputs["kafka_bootstrap_servers"] == endpoints.kafka_bootstrap_servers
    assert outputs["hdfs_uri"] == endpoints.hdfs_uri
    assert outputs["webhdfs_url"] == endpoints.webhdfs_url
    assert outputs["cassandra_contact_points"] == list(endpoints.cassandra_hosts)
    assert outputs["cassandra_port"] == endpoints.cassandra_port
    assert outputs["spark_master_url"] == endpoints.spark_master
    assert outputs["prefect_api_url"] == endpoints.prefect_api_url
    assert outputs["superset_url"] == superset_url(own_stack)
    assert healthy_after_apply == [svc.name for svc in stack.services]
    assert [r.name for r in stack.status() if r.pid] == []
