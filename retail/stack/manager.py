"""Bring the stack up, take it down, report on it: its services run as processes of this machine, or (the docker
runtime) its JVM services as containers of the project's images. Only processes recorded in the stack's pid files
are ever stopped."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psutil

from retail.settings import Settings, StackSettings
from retail.stack.errors import StackError
from retail.stack.process import PidFile, log_tail, port_is_free, port_owner, spawn, stop, tree_rss_bytes
from retail.stack.services import Layout, Service, build_services, fetch_artifacts

CONTAINER_FINGERPRINT = "container:"  # a pid file's fingerprint under the docker runtime starts so

_POLL_S = 0.5


@dataclass(frozen=True)
class ServiceStatus:
    """One row of ``retail stack status``."""

    name: str
    ports: tuple[int, ...]
    address: str
    pid: int | None
    healthy: bool
    rss_bytes: int
    heap_mb: int | None


def check_java() -> None:
    """Raises StackError unless a Java 17+ runtime is on PATH."""
    java = shutil.which("java")
    if java is None:
        raise StackError(
            "Java 17 or newer is needed and `java` is not on PATH: "
            "install it (apt-get install openjdk-17-jre-headless) or put its bin/ on PATH"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', out)
    if match is None or int(match.group(1)) < 17:
        raise StackError(f"Java 17 or newer is needed; `java -version` says: {out.strip()[:200]}")


def port_setting(port: int, stack: StackSettings) -> str:
    """Returns the environment variable that moves ``port``, for error messages."""
    for name, value in stack.model_dump().items():
        if name.endswith("_port") and value == port:
            return f"RETAIL_STACK__{name.upper()}"
    return "the RETAIL_STACK__*_PORT settings"


class Stack:
    """The native local stack described by ``settings``; ``services`` may be given to run a different set."""

    def __init__(self, settings: Settings, services: list[Service] | None = None) -> None:
        self.settings = settings
        self.layout = Layout(settings.stack.home)
        self._services = services
        self._containers = None  # the docker runtime, made on first use

    def containers(self, svc: Service):
        """Returns the docker runtime when ``svc`` runs in a container under the settings' runtime, else None."""
        if svc.image is None or self.settings.stack.runtime != "docker":
            return None
        if self._containers is None:
            from retail.containers.runtime import ContainerRuntime  # the docker SDK only where containers run

            self._containers = ContainerRuntime(self.settings)
        return self._containers

    def running_runtime(self) -> str | None:
        """Returns the runtime the stack's JVM services run on now (``native`` or ``docker``); None: none runs."""
        for svc in self.services:
            if svc.image is not None and self.process(svc.name) is not None:
                fingerprint = PidFile(self.layout.pid(svc.name)).fingerprint()
                return "docker" if fingerprint.startswith(CONTAINER_FINGERPRINT) else "native"
        return None

    def _fingerprint(self, svc: Service) -> str:
        runtime = self.containers(svc)
        return runtime.fingerprint(svc) if runtime else svc.fingerprint

    @property
    def services(self) -> list[Service]:
        """Returns the stack's services in start order."""
        if self._services is None:
            self._services = build_services(self.settings)
        return self._services

    def service(self, name: str) -> Service:
        """Returns the service called ``name``."""
        for svc in self.services:
            if svc.name == name:
                return svc
        raise StackError(f"no service {name!r}; the stack has {', '.join(s.name for s in self.services)}")

    def process(self, name: str) -> psutil.Process | None:
        """Returns the running process of a service (None when it is not running)."""
        return PidFile(self.layout.pid(name)).process()

    def up(self, report: Callable[[str], None] = print, *, fetch: bool = True) -> list[str]:
        """Starts every service that is not running and waits until all are healthy; returns the names it started.

        Idempotent: running services are left alone. On failure it stops what it started and raises StackError."""
        if fetch:
            check_java()
            fetch_artifacts(self.settings, lambda g: report(f"fetching {g.name} {g.version} from Maven Central (once)"))
            # Command lines name the jars just fetched: build the services again, the same ones as were given.
            chosen = None if self._services is None else {svc.name for svc in self._services}
            self._services = [svc for svc in build_services(self.settings) if chosen is None or svc.name in chosen]
        procs = {svc.name: self.process(svc.name) for svc in self.services}
        for svc in self.services:
            pid_file = PidFile(self.layout.pid(svc.name))
            if procs[svc.name] is not None and pid_file.fingerprint() != self._fingerprint(svc):
                report(f"{svc.name} runs with an older configuration; restarting it")
                stop(procs[svc.name], signals=svc.stop_signals)
                pid_file.path.unlink(missing_ok=True)
                procs[svc.name] = None
        for svc in self.services:
            if procs[svc.name] is None:
                self._check_ports(svc)
        started: list[str] = []
        healthy: set[str] = set()
        deadlines: dict[str, float] = {}
        try:
            while len(healthy) < len(self.services):
                for svc in self.services:
                    if svc.name not in deadlines and set(svc.requires) <= healthy:
                        if procs[svc.name] is None:
                            procs[svc.name] = self._start(svc, report)
                            started.append(svc.name)
                            report(f"started {svc.name} (pid {procs[svc.name].pid})")
                        deadlines[svc.name] = time.monotonic() + self.settings.stack.health_deadline_s
                for name in [n for n in deadlines if n not in healthy]:
                    svc = self.service(name)
                    self._check_alive(svc, procs[name])
                    if svc.healthy():
                        healthy.add(name)
                        report(f"{name} is healthy at {svc.address}")
                    elif time.monotonic() > deadlines[name]:
                        raise self._failure(
                            svc, f"did not become healthy within {self.settings.stack.health_deadline_s:.0f} s"
                        )
                time.sleep(_POLL_S)
        except BaseException:
            self.down(started, report=lambda _: None)
            raise
        return started

    def down(self, names: Iterable[str] | None = None, report: Callable[[str], None] = print) -> list[str]:
        """Stops the stack's own processes (all, or ``names``): dependents first, the rest of each wave in parallel;
        returns the names stopped, in the order they stopped."""
        wanted = set(names) if names is not None else {s.name for s in self.services}
        stopped: list[str] = []

        def stop_one(svc: Service) -> None:
            proc = self.process(svc.name)
            if proc is None:
                return
            try:
                svc.before_stop()
            except Exception as err:  # noqa: BLE001 (the stop goes on; the user hears why the tidy-up did not)
                report(f"{svc.name}: could not tidy up before stopping ({err})")
            stop(proc, signals=svc.stop_signals)
            PidFile(self.layout.pid(svc.name)).path.unlink(missing_ok=True)
            if runtime := self.containers(svc):
                runtime.remove(svc)
            stopped.append(svc.name)
            report(f"stopped {svc.name} (pid {proc.pid})")

        dependents = [s for s in reversed(self.services) if s.requires and s.name in wanted]
        others = [s for s in reversed(self.services) if not s.requires and s.name in wanted]
        for wave in (dependents, others):
            with ThreadPoolExecutor(max_workers=max(1, len(wave))) as pool:
                list(pool.map(stop_one, wave))
        return stopped

    def status(self) -> list[ServiceStatus]:
        """Returns one row per service: ports, pid, health and resident memory of its process tree."""
        rows = []
        for svc in self.services:
            proc = self.process(svc.name)
            rows.append(
                ServiceStatus(
                    name=svc.name,
                    ports=svc.ports,
                    address=svc.address,
                    pid=proc.pid if proc else None,
                    healthy=bool(proc) and svc.healthy(),
                    rss_bytes=tree_rss_bytes(proc) if proc else 0,
                    heap_mb=svc.heap_mb,
                )
            )
        return rows

    def _check_ports(self, svc: Service) -> None:
        host = self.settings.stack.host
        for port in svc.ports:
            if not port_is_free(host, port):
                owner = port_owner(port) or "another process"
                setting = port_setting(port, self.settings.stack)
                raise StackError(
                    f"{svc.name} cannot start: port {port} on {host} is already taken by {owner}. "
                    f"Stop that process, or give {svc.name} another port with {setting}."
                )

    def _start(self, svc: Service, report: Callable[[str], None]) -> psutil.Process:
        for folder in (self.layout.data(svc.name), self.layout.log(svc.name).parent):
            folder.mkdir(parents=True, exist_ok=True)
        if news := svc.prepare():
            report(f"{svc.name}: {news}")
        log, cwd = self.layout.log(svc.name), self.layout.data(svc.name)
        if runtime := self.containers(svc):
            proc = runtime.start(svc, log, cwd)
        else:
            proc = spawn(svc.command, env=svc.env, log=log, cwd=cwd)
        PidFile(self.layout.pid(svc.name)).write(proc, self._fingerprint(svc))
        return proc

    def _check_alive(self, svc: Service, proc: psutil.Process) -> None:
        try:
            exited = proc.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            exited = True
        if exited:
            try:
                code = proc.wait(timeout=1)
            except (psutil.Error, ChildProcessError):
                code = "unknown"
            raise self._failure(svc, f"exited with code {code} while starting")

    def _failure(self, svc: Service, what: str) -> StackError:
        log = self.layout.log(svc.name)
        return StackError(
            f"{svc.name} {what}. Last lines of {log}:\n{log_tail(log)}\n"
            f"Fix the cause above, then run `retail stack up` again (see `retail stack logs {svc.name}`)."
        )
