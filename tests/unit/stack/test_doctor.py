"""The doctor on real (tiny) processes and real sockets: a healthy service, a stopped one, and one whose port another
process holds, each with what to do."""

import socket

from retail.doctor import Verdict, diagnose
from retail.stack import Stack
from tests.unit.stack.test_manager import free_port, http_service


def test_a_taken_port_fails_with_its_owner_and_the_setting_that_moves_it(settings):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        settings = settings.model_copy(update={"stack": settings.stack.model_copy(update={"kafka_port": port})})
        stack = Stack(settings, [http_service("kafka", port)])

        (finding,) = [f for f in diagnose(settings, stack) if f.check == "service kafka"]

    assert finding.verdict is Verdict.FAIL
    assert str(port) in finding.detail and "pid" in finding.detail
    assert "RETAIL_STACK__KAFKA_PORT" in finding.fix


def test_a_stopped_service_warns_and_a_running_one_is_ok(settings):
    running, stopped = http_service("web", free_port()), http_service("idle", free_port())
    stack = Stack(settings, [running, stopped])
    stack.up(report=lambda _: None, fetch=False)
    try:
        stack.down(["idle"], report=lambda _: None)
        findings = {f.check: f for f in diagnose(settings, stack)}
    finally:
        stack.down(report=lambda _: None)

    assert findings["service web"].verdict is Verdict.OK
    assert findings["service idle"].verdict is Verdict.WARN
    assert "stack up" in findings["service idle"].fix
    assert findings["java"].verdict is Verdict.OK  # this machine runs the stack
    assert findings["javac"].verdict is Verdict.OK  # and compiles the fresh path's writer


def test_a_machine_without_javac_is_told_how_to_get_it(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))

    (finding,) = [f for f in diagnose(settings, Stack(settings, [])) if f.check == "javac"]

    assert finding.verdict is Verdict.FAIL
    assert "openjdk-17-jdk-headless" in finding.fix
