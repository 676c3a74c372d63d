"""The docker runtime of the stack: a JVM service runs as a container of its project image instead of a process of
this machine's Java, with the same command line, configuration, ports and data.

Each container shares the host's network and sees the stack home at its own path, so everything the native stack
knows holds unchanged: services bind 127.0.0.1 (Spark's executors reach the driver in the user's process there, as
every client reaches the services), health checks and clients are the same, and the two runtimes can take turns on
the same data. The container's main process is recorded in the service's pid file like a native process, so
``stack down``, ``stack status`` and the fault suite's kill -9 and SIGSTOP reach the service itself.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import time
from collections.abc import Callable
from functools import cached_property
from http import HTTPStatus
from pathlib import Path

import psutil
from docker.errors import APIError, NotFound

from retail.containers.engine import Engine, ensure_engine, find_engine
from retail.containers.images import build_images
from retail.settings import Settings
from retail.stack.artifacts import SPARK_HOME
from retail.stack.errors import StackError
from retail.stack.manager import CONTAINER_FINGERPRINT
from retail.stack.process import log_tail, spawn
from retail.stack.services import Service

IMAGE_LIB, IMAGE_SPARK_HOME = "/opt/retail/lib", "/opt/spark"  # where infra/images put the jars
START_TIMEOUT_S = 120.0
REMOVE_TIMEOUT_S = 60.0


class ContainerRuntime:
    """Starts and removes the stack's containers on the engine that answers (the project's own when none does)."""

    def __init__(self, settings: Settings, report: Callable[[str], None] = print) -> None:
        self.settings, self.report = settings, report
        self.home = settings.stack.home
        self._prefix = f"retail-{hashlib.sha256(str(self.home).encode()).hexdigest()[:8]}"

    @cached_property
    def engine(self) -> Engine:
        """The engine that answers, started on first use when none does."""
        return ensure_engine(self.settings, self.report)

    @cached_property
    def tags(self) -> dict[str, str]:
        """Returns each image's tag, building the images that are missing (a no-op when all are there)."""
        return {b.name: b.tag for b in build_images(self.engine, self.settings, report=self.report)}

    def name(self, svc: Service) -> str:
        """Returns the container's name: the stack home's digest and the service (two homes never collide)."""
        return f"{self._prefix}-{svc.name}"

    def fingerprint(self, svc: Service) -> str:
        """Returns what the running container must match: the service's command and environment, and its image."""
        return f"{CONTAINER_FINGERPRINT}{svc.fingerprint}:{self.tags[svc.image]}"

    def command(self, svc: Service, cwd: Path) -> tuple[str, ...]:
        """Returns the ``docker run`` command line of ``svc`` (attached: its output goes to the service's log)."""
        paths = {str(g.lib): IMAGE_LIB for g in svc.artifacts} | {str(SPARK_HOME): IMAGE_SPARK_HOME}

        def mapped(text: str) -> str:
            for host_path, image_path in paths.items():
                text = text.replace(host_path, image_path)
            return text

        env = {k: mapped(v) for k, v in svc.env.items()}
        if os.geteuid() != 0:  # a user the image does not know: give Java and Hadoop a home and a name
            env |= {"HOME": str(cwd), "HADOOP_USER_NAME": getpass.getuser()}
        return (
            *("docker", "run", "--rm", "--name", self.name(svc)),
            *("--network", "host", "--user", f"{os.geteuid()}:{os.getegid()}", "--workdir", str(cwd)),
            *("--label", f"retail.stack.home={self.home}"),
            *("--volume", f"{self.home}:{self.home}"),
            *(a for m in svc.mounts for a in ("--volume", f"{m}:{m}:ro")),
            *(a for k, v in sorted(env.items()) for a in ("--env", f"{k}={v}")),
            self.tags[svc.image],
            *(mapped(arg) for arg in svc.command),
        )

    def start(self, svc: Service, log: Path, cwd: Path) -> psutil.Process:
        """Starts the service's container; returns its main process (the service itself, seen from this machine)."""
        self.remove(svc)  # a container left by a session that was killed
        command = self.command(svc, cwd)
        client = self.engine.client()
        try:
            cli = spawn(command, env={"DOCKER_HOST": self.engine.host}, log=log, cwd=cwd)
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                try:
                    state = client.containers.get(self.name(svc)).attrs["State"]
                    if state.get("Running") and state.get("Pid"):
                        return psutil.Process(state["Pid"])
                except NotFound:
                    pass
                if cli.status() == psutil.STATUS_ZOMBIE or not cli.is_running():
                    break
                time.sleep(0.2)
        finally:
            client.close()
        raise StackError(f"the {svc.name} container did not start; its log ({log}) ends:\n{log_tail(log)}")

    def remove(self, svc: Service) -> None:
        """Removes the service's container if one is left and waits until it is gone (a stopped one goes by itself:
        it runs with --rm, and Docker may be removing it already). With no engine running there is none to remove."""
        engine = find_engine(self.settings)
        if engine is None:
            return
        client = engine.client()
        deadline = time.monotonic() + REMOVE_TIMEOUT_S
        try:
            while True:
                try:
                    client.containers.get(self.name(svc)).remove(force=True)
                except NotFound:
                    return
                except APIError as err:
                    if err.status_code != HTTPStatus.CONFLICT or time.monotonic() > deadline:
                        raise StackError(f"could not remove the {svc.name} container: {err.explanation}") from err
                    time.sleep(0.2)  # its removal is under way
        finally:
            client.close()


def docker_unusable(settings: Settings, report: Callable[[str], None] = print) -> str | None:
    """Returns why the docker runtime cannot run here, or None when it can: an engine answers (none is started
    here) and the project's images are there or build."""
    engine = find_engine(settings)
    if engine is None:
        return "no Docker engine answers (`retail engine up` starts one)"
    try:
        build_images(engine, settings, report=report)
    except StackError as err:
        return f"the project's images do not build on {engine.describe()}: {err}"
    return None
