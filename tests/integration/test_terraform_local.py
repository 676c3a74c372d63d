"""infra/terraform/envs/local: apply brings the stack up with the right outputs, destroy takes it down."""

import json
import os
import shutil
import subprocess

import pytest

from retail.dashboards.superset import superset_url
from retail.stack import Stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.takes_stack_down,
    pytest.mark.skipif(
        os.environ.get("RETAIL_TEST_STACK", "auto") not in ("auto", "native"),
        reason="the local Terraform environment drives the native stack; another provider runs the services",
    ),
]


@pytest.fixture
def terraform(tmp_path, repo_root):
    binary = os.environ.get("TERRAFORM") or shutil.which("terraform") or shutil.which("tofu")
    assert binary, "no terraform or tofu binary: run the tests through ./run test, which installs one"
    workdir = tmp_path / "terraform"
    shutil.copytree(repo_root / "infra/terraform", workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    env_dir = workdir / "envs/local"

    def run(*args: str) -> str:
        result = subprocess.run(
            [binary, *args],
            cwd=env_dir,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "TF_IN_AUTOMATION": "1"},
            timeout=900,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    run("init", "-input=false", "-no-color")
    return run, f"-var=cli={repo_root / 'run'}"


def test_apply_outputs_the_endpoints_and_destroy_stops_the_stack(terraform, stack_settings):
    run, cli_var = terraform

    run("apply", "-auto-approve", "-input=false", "-no-color", cli_var)
    outputs = {k: v["value"] for k, v in json.loads(run("output", "-json")).items()}
    endpoints = stack_settings.endpoints()
    stack = Stack(stack_settings)
    healthy_after_apply = [r.name for r in stack.status() if r.healthy]
    run("destroy", "-auto-approve", "-input=false", "-no-color", cli_var)

    assert outputs["kafka_bootstrap_servers"] == endpoints.kafka_bootstrap_servers
    assert outputs["hdfs_uri"] == endpoints.hdfs_uri
    assert outputs["webhdfs_url"] == endpoints.webhdfs_url
    assert outputs["cassandra_contact_points"] == list(endpoints.cassandra_hosts)
    assert outputs["cassandra_port"] == endpoints.cassandra_port
    assert outputs["spark_master_url"] == endpoints.spark_master
    assert outputs["prefect_api_url"] == endpoints.prefect_api_url
    assert outputs["superset_url"] == superset_url(stack_settings)
    assert healthy_after_apply == [svc.name for svc in stack.services]
    assert [r.name for r in stack.status() if r.pid] == []
