"""What the platform needs from this machine, checked in one pass: each finding says what is wrong and what to do.
Read-only: it starts, stops and downloads nothing."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import psutil

from retail.containers.engine import find_engine
from retail.settings import Settings
from retail.stack import Stack, StackError
from retail.stack.artifacts import load_groups
from retail.stack.manager import check_java, port_setting
from retail.stack.process import port_is_free, port_owner

MIN_FREE_DISK_GIB = 10.0
MIN_AVAILABLE_MEMORY_GIB = 8.0


class Verdict(StrEnum):
    """How a check came out: ``fail`` stops the platform, ``warn`` slows or limits it."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    """One row of the doctor's table."""

    check: str
    verdict: Verdict
    detail: str
    fix: str = ""


def diagnose(settings: Settings, stack: Stack | None = None) -> list[Finding]:
    """Returns one finding per check: Java, javac, disk, memory, artifacts, then every service of ``stack`` (default:
    the settings' stack): running and healthy, or stopped with its ports free."""
    stack = stack or Stack(settings)
    return [
        _java(),
        _javac(),
        _disk(settings.stack.home),
        _memory(),
        *_artifacts(settings),
        _superset_env(settings),
        _engine(settings),
        *_services(stack),
    ]


def _java() -> Finding:
    try:
        check_java()
    except StackError as error:
        return Finding("java", Verdict.FAIL, str(error).split(":")[0], str(error))
    return Finding("java", Verdict.OK, "Java 17+ on PATH")


def _javac() -> Finding:
    if shutil.which("javac") is None:
        return Finding(
            "javac",
            Verdict.FAIL,
            "no javac on PATH: the fresh path's Cassandra writer (jvm/) is compiled with it once",
            "apt-get install openjdk-17-jdk-headless (./run installs it when run as root)",
        )
    return Finding("javac", Verdict.OK, "javac on PATH (compiles jvm/ once)")


def _disk(home: Path) -> Finding:
    existing = next(p for p in (home, *home.parents) if p.exists())
    free = shutil.disk_usage(existing).free / 2**30
    if free < MIN_FREE_DISK_GIB:
        return Finding(
            "disk",
            Verdict.WARN,
            f"{free:.1f} GiB free under {existing}",
            f"free space there (the stack's data and logs grow), or move it with RETAIL_STACK__HOME; "
            f"{MIN_FREE_DISK_GIB:.0f} GiB is comfortable",
        )
    return Finding("disk", Verdict.OK, f"{free:.0f} GiB free under {existing}")


def _memory() -> Finding:
    available = psutil.virtual_memory().available / 2**30
    if available < MIN_AVAILABLE_MEMORY_GIB:
        return Finding(
            "memory",
            Verdict.WARN,
            f"{available:.1f} GiB available",
            f"the whole stack takes about 6 GiB resident: stop other work or expect swapping "
            f"({MIN_AVAILABLE_MEMORY_GIB:.0f} GiB is comfortable)",
        )
    return Finding("memory", Verdict.OK, f"{available:.0f} GiB available")


def _artifacts(settings: Settings) -> list[Finding]:
    missing = [g.name for g in load_groups(settings.stack.cache_dir).values() if not g.ready]
    if missing:
        return [
            Finding(
                "artifacts",
                Verdict.WARN,
                f"not downloaded yet: {', '.join(missing)}",
                "`./run stack up` fetches them from Maven Central once (needs `mvn` and the network)",
            )
        ]
    return [Finding("artifacts", Verdict.OK, f"cached under {settings.stack.cache_dir}")]


def _superset_env(settings: Settings) -> Finding:
    venv = settings.stack.superset_venv
    if not (venv / "bin" / "superset").exists():
        return Finding(
            "superset env",
            Verdict.WARN,
            f"{venv} is missing",
            "`./run setup` creates it from dashboards/requirements.lock",
        )
    return Finding("superset env", Verdict.OK, f"Superset's own environment at {venv}")


def _engine(settings: Settings) -> Finding:
    engine = find_engine(settings)
    if engine is not None:
        return Finding("docker engine", Verdict.OK, engine.describe())
    docker_runtime = settings.stack.runtime == "docker"
    can_start = shutil.which("dockerd") is not None or (os.geteuid() == 0 and shutil.which("apt-get") is not None)
    detail = "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock), and the project's own is not running"
    if can_start:
        fix = "`./run engine up` starts the project's own (the docker runtime and the container tests do it themselves)"
        return Finding("docker engine", Verdict.WARN if docker_runtime else Verdict.OK, detail, fix)
    return Finding(
        "docker engine",
        Verdict.FAIL if docker_runtime else Verdict.WARN,
        f"{detail}; dockerd is not installed",
        "start your engine, or install Debian's docker.io (run as root, ./run installs it); only the docker runtime "
        "(RETAIL_STACK__RUNTIME=docker) and the container tests need one",
    )


def _services(stack: Stack) -> list[Finding]:
    settings = stack.settings
    host = settings.stack.host
    findings = []
    for svc in stack.services:
        check = f"service {svc.name}"
        if stack.process(svc.name) is not None:
            if svc.healthy():
                findings.append(Finding(check, Verdict.OK, f"running and healthy at {svc.address}"))
            else:
                findings.append(
                    Finding(
                        check,
                        Verdict.FAIL,
                        f"running but not answering at {svc.address}",
                        f"see `./run stack logs {svc.name}`; `./run stack down && ./run stack up` restarts it",
                    )
                )
            continue
        taken = [p for p in svc.ports if not port_is_free(host, p)]
        if taken:
            owners = "; ".join(f"{p} by {port_owner(p) or 'another process'}" for p in taken)
            moves = ", ".join(port_setting(p, settings.stack) for p in taken)
            findings.append(
                Finding(
                    check,
                    Verdict.FAIL,
                    f"stopped, and its port is taken: {owners}",
                    f"stop that process, or move {svc.name} with {moves}",
                )
            )
        else:
            findings.append(Finding(check, Verdict.WARN, "stopped (its ports are free)", "`./run stack up` starts it"))
    return findings
