"""The stack manager on real (tiny) processes: idempotent up, clean down, and the errors users see."""

import os
import socket
import sys
from functools import partial

import psutil
import pytest

from retail.settings import Settings
from retail.stack import Stack, StackError
from retail.stack.process import tcp_open
from retail.stack.services import Service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_service(name: str, port: int, **kwargs) -> Service:
    kwargs.setdefault("healthy", partial(tcp_open, "127.0.0.1", port))
    return Service(
        name=name,
        ports=(port,),
        address=f"http://127.0.0.1:{port}",
        command=(sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)),
        **kwargs,
    )


def test_up_is_idempotent_and_down_stops_only_its_own(settings):
    port_a, port_b = free_port(), free_port()
    stack = Stack(settings, [http_service("a", port_a), http_service("b", port_b, requires=("a",))])
    bystander = psutil.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert stack.up(report=lambda _: None, fetch=False) == ["a", "b"]
        assert stack.up(report=lambda _: None, fetch=False) == []
        rows = {row.name: row for row in stack.status()}
        assert all(row.healthy and row.rss_bytes > 0 for row in rows.values())

        assert stack.down(report=lambda _: None) == ["b", "a"]  # the dependent first

        assert not tcp_open("127.0.0.1", port_a)
        assert [row.pid for row in stack.status()] == [None, None]
        assert bystander.is_running()
    finally:
        bystander.kill()
        stack.down(report=lambda _: None)


def test_taken_port_names_its_owner_and_the_setting_to_change(settings):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = Stack(settings, [http_service("kafka", port)])

        with pytest.raises(StackError) as err:
            stack.up(report=lambda _: None, fetch=False)

    message = str(err.value)
    assert f"port {port}" in message
    assert f"pid {psutil.Process().pid}" in message
    assert "RETAIL_STACK__" in message


def test_service_that_exits_reports_its_exit_code_and_log(settings):
    crashing = Service(
        name="crasher",
        ports=(),
        address="-",
        command=(sys.executable, "-c", "print('cannot open data dir: permission denied'); raise SystemExit(3)"),
        healthy=lambda: False,
    )

    with pytest.raises(StackError) as err:
        Stack(settings, [crashing]).up(report=lambda _: None, fetch=False)

    assert "exited with code 3" in str(err.value)
    assert "cannot open data dir: permission denied" in str(err.value)


def test_unhealthy_service_fails_after_its_deadline_and_is_stopped(settings, monkeypatch):
    monkeypatch.setenv("RETAIL_STACK__HEALTH_DEADLINE_S", "2")
    port = free_port()
    never_ready = http_service("sulky", port, healthy=lambda: False)
    stack = Stack(Settings(), [never_ready])

    with pytest.raises(StackError) as err:
        stack.up(report=lambda _: None, fetch=False)

    assert "did not become healthy within 2 s" in str(err.value)
    assert "retail stack logs sulky" in str(err.value)
    assert stack.process("sulky") is None
    assert not tcp_open("127.0.0.1", port)


def test_service_whose_configuration_changed_is_restarted(settings):
    port = free_port()
    before = Stack(settings, [http_service("web", port)])
    changed = http_service("web", port, env={"WEB_MODE": "new"})
    try:
        before.up(report=lambda _: None, fetch=False)
        old_pid = before.process("web").pid

        assert Stack(settings, [changed]).up(report=lambda _: None, fetch=False) == ["web"]
        assert Stack(settings, [changed]).up(report=lambda _: None, fetch=False) == []
        assert before.process("web").pid != old_pid
    finally:
        before.down(report=lambda _: None)


def test_missing_java_says_what_to_install(monkeypatch, tmp_path):
    from retail.stack.manager import check_java

    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(StackError, match="Java 17 or newer is needed"):
        check_java()


def test_down_also_stops_what_a_service_started_in_a_session_of_its_own(settings, tmp_path):
    # A Prefect worker starts each flow run in a new session: it leaves the worker's process group.
    pid_file, port = tmp_path / "detached.pid", free_port()
    spawner = (
        "import subprocess, sys, http.server, socketserver\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        f"socketserver.TCPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()\n"
    )
    service = Service(
        name="spawner",
        ports=(port,),
        address=f"http://127.0.0.1:{port}",
        command=(sys.executable, "-c", spawner),
        healthy=partial(tcp_open, "127.0.0.1", port),
    )
    stack = Stack(settings, [service])
    stack.up(report=lambda _: None, fetch=False)
    detached = psutil.Process(int(pid_file.read_text()))
    assert detached.is_running() and os.getpgid(detached.pid) != os.getpgid(stack.process("spawner").pid)

    stack.down(report=lambda _: None)

    assert not detached.is_running() or detached.status() == psutil.STATUS_ZOMBIE


def test_down_tidies_up_before_stopping_a_service(settings):
    port, calls = free_port(), []
    service = http_service("web", port, before_stop=lambda: calls.append(tcp_open("127.0.0.1", port)))
    stack = Stack(settings, [service])
    stack.up(report=lambda _: None, fetch=False)

    stack.down(report=lambda _: None)

    assert calls == [True]  # called once, while the service still answered


def test_the_runtime_a_running_stack_runs_on_is_read_from_its_pid_files(settings):
    from retail.stack.manager import CONTAINER_FINGERPRINT
    from retail.stack.process import PidFile

    stack = Stack(settings, [http_service("kafka", free_port(), image="kafka")])
    assert stack.running_runtime() is None
    stack.up(report=lambda _: None, fetch=False)  # the native runtime: a process of this machine
    try:
        assert stack.running_runtime() == "native"
        PidFile(stack.layout.pid("kafka")).write(stack.process("kafka"), f"{CONTAINER_FINGERPRINT}abc")
        assert stack.running_runtime() == "docker"
    finally:
        stack.down(report=lambda _: None)
    assert stack.running_runtime() is None
