"""Superset's launcher: the one-time set-up, then the server in the same process, with stand-in programs for
Superset's own (each records how it was called)."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from retail.dashboards.secrets import ensure_secrets


def _program(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def venv(tmp_path):
    """A Superset venv's bin folder whose programs append their arguments (and the admin password they were
    given, if any) to calls.txt; the server prints its pid."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    calls = tmp_path / "calls.txt"
    _program(bin_dir / "superset", f'echo "superset $1 $2 password=${{RETAIL_SUPERSET_ADMIN_PASSWORD}}" >> {calls}')
    _program(bin_dir / "python", f'echo "python $1 password=${{RETAIL_SUPERSET_ADMIN_PASSWORD}}" >> {calls}')
    _program(bin_dir / "gunicorn", f'echo "gunicorn $* pid=$$ password=${{RETAIL_SUPERSET_ADMIN_PASSWORD}}" >> {calls}')
    return bin_dir, calls


def _serve(tmp_path, bin_dir, digest="v1"):
    home = tmp_path / "home"
    ensure_secrets(home)
    marker = tmp_path / ".initialised"
    command = [sys.executable, "-m", "retail.dashboards.serve", str(marker), digest, "--", str(bin_dir / "gunicorn")]
    proc = subprocess.Popen(
        [*command, "--bind", "127.0.0.1:0"],
        env={**os.environ, "RETAIL_SUPERSET_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, _ = proc.communicate(timeout=60)
    return proc, output, marker


def test_the_first_start_sets_superset_up_then_becomes_the_server(tmp_path, venv):
    bin_dir, calls = venv
    proc, output, marker = _serve(tmp_path, bin_dir)

    assert proc.returncode == 0, output
    lines = calls.read_text().splitlines()
    assert [line.split(" password=")[0] for line in lines[:3]] == [
        "superset db upgrade",
        "superset init ",
        "python -c",
    ]
    password = ensure_secrets(tmp_path / "home").admin_password.get_secret_value()
    assert lines[2].endswith(f"password={password}")  # by environment, to the admin's creation only
    assert lines[3].startswith("gunicorn --bind 127.0.0.1:0") and lines[3].endswith("password=")
    assert f"pid={proc.pid} " in lines[3]  # the server is the launcher's process: the service's pid stays true
    assert marker.read_text() == "v1"


def test_a_later_start_skips_the_set_up_until_superset_changes(tmp_path, venv):
    bin_dir, calls = venv
    _serve(tmp_path, bin_dir)
    calls.unlink()

    _serve(tmp_path, bin_dir)
    assert [line.split()[0] for line in calls.read_text().splitlines()] == ["gunicorn"]

    calls.unlink()
    _serve(tmp_path, bin_dir, digest="v2")
    assert [line.split()[0] for line in calls.read_text().splitlines()] == [
        "superset",
        "superset",
        "python",
        "gunicorn",
    ]


def test_a_failed_set_up_step_ends_the_service_with_what_to_do_and_no_server(tmp_path, venv):
    bin_dir, calls = venv
    _program(bin_dir / "superset", 'echo "migration 42 failed"; exit 3')

    proc, output, marker = _serve(tmp_path, bin_dir)

    assert proc.returncode == 1
    assert "migration 42 failed" in output
    assert "Superset's set-up failed" in output and "retail stack up" in output
    assert not marker.exists()
    assert not calls.exists()  # neither the admin nor the server
