"""Processes the stack starts: spawn detached, remember by pid file, stop only what it started."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from retail.stack.errors import StackError


@dataclass(frozen=True)
class PidFile:
    """A pid plus the process start time, so a recycled pid is never mistaken for ours."""

    path: Path

    def write(self, proc: psutil.Process, fingerprint: str = "") -> None:
        """Records a started process (pid, start time and the fingerprint of its command)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"pid": proc.pid, "create_time": proc.create_time(), "fingerprint": fingerprint}
        self.path.write_text(json.dumps(record))

    def fingerprint(self) -> str:
        """Returns the fingerprint of the configuration the process was started with ('' if unknown)."""
        try:
            return json.loads(self.path.read_text()).get("fingerprint", "")
        except (FileNotFoundError, ValueError):
            return ""

    def process(self) -> psutil.Process | None:
        """Returns the live process this file names, or None (and removes a stale file)."""
        try:
            record = json.loads(self.path.read_text())
            proc = psutil.Process(record["pid"])
            if abs(proc.create_time() - record["create_time"]) < 0.01 and is_alive(proc):
                return proc
        except (FileNotFoundError, ValueError, KeyError, psutil.Error):
            pass
        self.path.unlink(missing_ok=True)
        return None


def spawn(command: Sequence[str], *, env: dict[str, str], log: Path, cwd: Path) -> psutil.Process:
    """Returns the started process: its own session (so its children stop with it), output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(command)}\n".encode())
        out.flush()
        try:
            popen = subprocess.Popen(
                list(command),
                env={**os.environ, **env},
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except FileNotFoundError as err:
            raise StackError(f"cannot run {command[0]!r}: {err.strerror}; is it installed and on PATH?") from err
    return psutil.Process(popen.pid)


def stop(proc: psutil.Process, *, grace_s: float = 20.0, signals: int = 1) -> None:
    """Stops the process and everything in its process group (it leads one: see ``spawn``), so children it starts
    while shutting down go too, and then any descendant that left the group for a session of its own (a Prefect
    worker's flow runs do). ``signals`` SIGTERMs first (some programs need two), then SIGKILL."""
    pgid = proc.pid
    descendants = _descendants(proc)  # now: once the leader is gone, they belong to init
    for i in range(signals):
        _signal_group(pgid, signal.SIGTERM)
        if _wait_gone(proc, grace_s if i == signals - 1 else 2.0):
            break
    _signal_group(pgid, signal.SIGKILL)
    _wait_gone(proc, 5.0)
    left = [p for p in descendants if is_alive(p)]
    for child in left:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(left, timeout=grace_s)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_gone(proc: psutil.Process, timeout_s: float) -> bool:
    """Waits until the process has exited (a zombie awaiting its parent counts as exited)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not is_alive(proc):
            return True
        time.sleep(0.1)
    return not is_alive(proc)


def is_alive(proc: psutil.Process) -> bool:
    """Returns whether the process runs (neither gone nor a zombie)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tree_rss_bytes(proc: psutil.Process) -> int:
    """Returns the resident memory of the process and all its descendants (a Spark worker's executors count)."""
    total = 0
    for member in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def port_owner(port: int) -> str:
    """Returns a description of whoever listens on ``port``, or '' when nobody we can see does."""
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return "another process"
            try:
                p = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({' '.join(p.cmdline())[:120]})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return ""


def port_is_free(host: str, port: int) -> bool:
    """Returns whether ``host:port`` can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def tcp_open(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """Returns whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def log_tail(log: Path, lines: int = 30) -> str:
    """Returns the last ``lines`` lines of a log file ('' when it does not exist)."""
    try:
        with log.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    # Java daemons print their whole classpath at start; keep each line short enough to read.
    return "\n".join(line if len(line) <= 400 else line[:400] + " …" for line in text.splitlines()[-lines:])
