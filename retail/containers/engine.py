"""The Docker engine the container path runs on. A user's own engine (``DOCKER_HOST``, or the default socket) is used
when it answers and is never touched. Where none answers, the project runs one of its own: Debian's ``docker.io``
(installed with apt-get when this runs as root), a ``dockerd`` whose socket, data, state, log and pid all live in
the project's cache folder (beside the artifacts its images are built from), so it never meets a system daemon's
files, and without the default bridge. One engine serves every stack home of the user (a test's own stack too): its
images are a cache, built once."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException
from requests.exceptions import RequestException

from retail.settings import Settings
from retail.stack.errors import StackError
from retail.stack.process import PidFile, is_alive, log_tail, spawn, stop

DEFAULT_HOST = "unix:///var/run/docker.sock"
START_TIMEOUT_S = 60.0
PACKAGE = "docker.io"  # Debian's engine: dockerd, containerd and runc


@dataclass(frozen=True)
class EngineLayout:
    """Where the project's own engine keeps everything: its folder in the cache."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> EngineLayout:
        """Returns the layout under the settings' cache folder."""
        return cls(settings.stack.cache_dir / "docker")

    @property
    def host(self) -> str:
        """Returns the engine's address (a unix socket: nothing listens on a TCP port)."""
        return f"unix://{self.root / 'docker.sock'}"

    @property
    def pid_file(self) -> PidFile:
        """The daemon's pid (with its start time) as the stack records its processes."""
        return PidFile(self.root / "engine.pid")

    @property
    def log(self) -> Path:
        """The daemon's log."""
        return self.root / "dockerd.log"

    def command(self, dockerd: str) -> tuple[str, ...]:
        """Returns the daemon's command line: every path of its own, no default bridge."""
        return (
            dockerd,
            *("--host", self.host),
            *("--data-root", str(self.root / "data")),
            *("--exec-root", str(self.root / "run")),
            *("--pidfile", str(self.root / "dockerd.pid")),
            *("--bridge", "none"),
        )


@dataclass(frozen=True)
class Engine:
    """An engine that answers: its address, its version and whether the project runs it."""

    host: str
    version: str
    own: bool

    def client(self) -> docker.DockerClient:
        """Returns a client of this engine (long timeout: image builds and container starts take a while)."""
        return docker.DockerClient(base_url=self.host, timeout=600)

    def describe(self) -> str:
        """Returns one line for people: version, address, and whose it is."""
        whose = "the project's own" if self.own else "yours, used as it is"
        return f"Docker {self.version} at {self.host} ({whose})"


def answers(host: str, timeout_s: float = 3.0) -> str | None:
    """Returns the server version of the engine at ``host``, or None when nothing answers there."""
    try:
        client = docker.DockerClient(base_url=host, timeout=timeout_s)
        try:
            return str(client.version()["Version"])
        finally:
            client.close()
    except (DockerException, RequestException, OSError, KeyError):
        return None


def find_engine(settings: Settings) -> Engine | None:
    """Returns the engine to use, or None: the user's (``DOCKER_HOST``, else the default socket) when it answers,
    else the project's own when it runs."""
    user = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    if version := answers(user):
        return Engine(user, version, own=False)
    layout = EngineLayout.of(settings)
    if layout.pid_file.process() is not None and (version := answers(layout.host)):
        return Engine(layout.host, version, own=True)
    return None


def ensure_engine(settings: Settings, report: Callable[[str], None] = print) -> Engine:
    """Returns an engine that answers, starting the project's own when none does (and installing Debian's docker.io
    first when dockerd is missing and this runs as root)."""
    if engine := find_engine(settings):
        return engine
    dockerd = shutil.which("dockerd") or _install(report)
    layout = EngineLayout.of(settings)
    layout.root.mkdir(parents=True, exist_ok=True)
    report(f"starting the project's Docker engine (socket {layout.host}, log {layout.log})")
    proc = spawn(layout.command(dockerd), env={}, log=layout.log, cwd=layout.root)
    layout.pid_file.write(proc)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if version := answers(layout.host):
            return Engine(layout.host, version, own=True)
        if not is_alive(proc):
            break
        time.sleep(0.5)
    if is_alive(proc):
        stop(proc)
    layout.pid_file.path.unlink(missing_ok=True)
    raise StackError(
        f"the project's Docker engine did not answer; its log ({layout.log}) ends:\n{log_tail(layout.log)}"
    )


def stop_engine(settings: Settings, report: Callable[[str], None] = print) -> bool:
    """Stops the project's own engine (its containers stop with it); returns whether one ran. Never touches a
    user's engine."""
    layout = EngineLayout.of(settings)
    proc = layout.pid_file.process()
    if proc is None:
        return False
    report(f"stopping the project's Docker engine (pid {proc.pid})")
    stop(proc, grace_s=30.0)
    layout.pid_file.path.unlink(missing_ok=True)
    return True


def _install(report: Callable[[str], None]) -> str:
    """Installs Debian's engine; returns the path of dockerd."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(
            "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock) and dockerd is not installed: start "
            f"your engine, or install Debian's ({PACKAGE}) and run again; run as root, the project installs and "
            "starts one itself"
        )
    report(f"installing Debian's Docker engine ({PACKAGE}) with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", PACKAGE]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"`{' '.join(command)}` failed:\n{(result.stdout + result.stderr)[-2000:]}")
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise StackError(f"{PACKAGE} installed, yet no dockerd on PATH: check the package ({PACKAGE})")
    return dockerd
