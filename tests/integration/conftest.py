"""The one place that knows how integration tests get their services.

``RETAIL_TEST_STACK`` chooses: ``external`` (endpoints from RETAIL_* variables, nothing started), ``native`` (the
local stack, started here if it is not running and stopped at the end if it was started here), ``docker`` (the same,
its JVM services as containers of the project's images: ``RETAIL_STACK__RUNTIME=docker``), or ``auto`` (the
default: docker when an engine answers and the images are there or build, else native).

Every wait on progress has a deadline of ``deadline(seconds)``: a generous time measured here, times
``RETAIL_TEST_DEADLINE_FACTOR`` (default 1; raise it on a slower or busier machine instead of editing numbers).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import psutil
import pytest

from retail import scratch
from retail.cassandra.client import close_sessions
from retail.composition import start_stream
from retail.generator import GeneratorConfig, generate
from retail.kafka import ensure_topics, produce
from retail.lake import BRONZE_ONLY_QUERY, STREAM_QUERY
from retail.settings import REPO_ROOT, Settings
from retail.stack import Stack
from retail.stack.services import build_services
from spark.hdfs import Lake


def _deadline_factor() -> float:
    factor = float(os.environ.get("RETAIL_TEST_DEADLINE_FACTOR", "1"))
    if factor <= 0:
        raise pytest.UsageError(f"RETAIL_TEST_DEADLINE_FACTOR={factor}: use a positive number, e.g. 2")
    return factor


DEADLINE_FACTOR = _deadline_factor()


def scaled(seconds: float) -> float:
    """Returns a deadline in seconds: ``seconds`` (generous on this 2-core machine) times the deadline factor."""
    return seconds * DEADLINE_FACTOR


@pytest.fixture(scope="session")
def deadline() -> Callable[[float], float]:
    """Returns the function every test's deadline goes through (``RETAIL_TEST_DEADLINE_FACTOR`` scales it)."""
    return scaled


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # pytest-timeout's backstop (pyproject's `timeout`) stands behind the deadlines: it grows with them.
    backstop = config.getini("timeout")
    if DEADLINE_FACTOR != 1 and backstop:
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(scaled(float(backstop))))


def choose_provider(settings: Settings) -> str:
    """Returns ``docker`` when an engine answers and the project's images are there or build, else ``native``."""
    from retail.containers.runtime import docker_unusable

    if reason := docker_unusable(settings, report=lambda msg: print(f"[images] {msg}")):
        print(f"[stack] the tests run on the native stack: {reason}")
        return "native"
    return "docker"


# The services this session started itself: faults may be injected only into these, the user's own services keep
# running untouched.
STARTED_HERE: set[str] = set()


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    """Yields settings whose endpoints reach real, healthy services for the whole test session."""
    # Two task slots for each Spark application of the tests (the session's, and the stream, producer or flow run a
    # test starts): with a user's live stream on the worker (4 of its 8 cores) all three fit, where a third
    # application would otherwise wait for a core that never frees. Subprocesses and flow runs inherit it.
    os.environ.setdefault("RETAIL_SPARK_CORES", "2")
    provider = os.environ.get("RETAIL_TEST_STACK", "auto")
    # A stack that runs already (the user's) is used as it runs: never restarted on the other runtime.
    running = Stack(Settings()).running_runtime() if provider != "external" else None
    if provider == "auto":
        provider = running or choose_provider(Settings())
    elif running and provider != running:
        raise pytest.UsageError(
            f"RETAIL_TEST_STACK={provider}, but the stack runs on the {running} runtime now: the tests would restart "
            f"it. Stop it (./run stack down) or use RETAIL_TEST_STACK={running}"
        )
    if provider == "docker":  # the stack's JVM services as containers (subprocesses and flow runs inherit it)
        os.environ["RETAIL_STACK__RUNTIME"] = "docker"
    if provider == "external":
        yield Settings()
    elif provider in ("native", "docker"):
        settings = Settings()
        stack = Stack(settings)
        started = stack.up(report=lambda msg: print(f"[stack] {msg}"))
        STARTED_HERE.update(started)
        try:
            if {"kafka", "cassandra", "namenode"} <= set(started):  # no one else's tests run on it: earlier
                # sessions' leftovers go (a run that was killed never reached its own clean-up)
                remove_test_data(partial(scratch.leftovers, settings, TEST_NAMESPACE, TEST_LAKE))
            yield settings
        finally:
            if ISSUED:
                remove_test_data(lambda: ISSUED)
            close_sessions()  # this process's cached Cassandra sessions, while Cassandra still answers
            stack.down(started, report=lambda msg: print(f"[stack] {msg}"))
    else:
        raise pytest.UsageError(f"RETAIL_TEST_STACK={provider!r}: use external, docker, native or auto")


@pytest.fixture
def stack_started_here(stack_settings: Settings) -> set[str]:
    """Returns the services this session started (a test that kills one must not kill the user's)."""
    return STARTED_HERE


def free_port(host: str) -> int:
    """Returns a port no one listens on at ``host`` now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


PREFECT_SERVICES = ("prefect-server", "prefect-worker")


@pytest.fixture(scope="session")
def own_prefect(stack_settings: Settings) -> Iterator[Stack]:
    """Yields a Prefect server and worker of this session's own, started by the stack's own service definitions,
    with every deployment of deployments/prefect.yaml deployed to them paused (nothing runs unless a test asks).

    The user's Prefect is never touched: their deployments stay as they are (paused or not, schedules on or off),
    the stream slot a live stream holds is theirs alone, and stopping or killing this worker cancels only tests'
    runs. The flow runs reach the session's Kafka, HDFS, Spark and Cassandra. ``.settings`` of the result are
    ``stack_settings`` with this Prefect; give a test's runs ``RETAIL_PREFECT_API_URL`` from them."""
    from retail.deploy import deploy

    report = partial(print, "[test prefect]")
    # One folder per session beside the stack's home, named by the session's pid: a session that was killed left
    # its server and worker running; the next one finds them by their pid files and stops them.
    homes = stack_settings.stack.home.parent / "test-prefect"
    for home in homes.glob("*"):
        if home.name.isdigit() and not psutil.pid_exists(int(home.name)):
            _prefect_of(stack_settings, home, port=0).down(report=report)
            shutil.rmtree(home, ignore_errors=True)
    prefect = _prefect_of(stack_settings, homes / str(os.getpid()), port=free_port(stack_settings.stack.host))
    prefect.up(report=report, fetch=False)  # Prefect needs no artifacts of the stack's
    try:
        deploy(prefect.settings, paused=True)
        yield prefect
    finally:
        prefect.down(report=report)
        shutil.rmtree(prefect.settings.stack.home, ignore_errors=True)


def _prefect_of(settings: Settings, home: Path, port: int) -> Stack:
    """Returns the Prefect server and worker of the stack's service definitions, with ``home`` and ``port``."""
    host = settings.stack.host
    stack = settings.stack.model_copy(update={"home": home, "prefect_port": port, "health_deadline_s": scaled(180)})
    own = settings.model_copy(update={"prefect_api_url": f"http://{host}:{port}/api", "stack": stack})
    return Stack(own, [svc for svc in build_services(own) if svc.name in PREFECT_SERVICES])


@pytest.fixture(scope="session")
def spark(stack_settings: Settings):
    """One Spark session on the stack's standalone master (with the Kafka connector and the fresh path's writer) for
    the whole test session, with task slots for the fresh path in real-time mode."""
    from retail.composition import spark_session

    session = spark_session(stack_settings, "integration-tests", live=True)
    session.sparkContext.setLogLevel("WARN")
    yield session
    session.stop()


TEST_NAMESPACE, TEST_LAKE = r"t[0-9a-f]{10}", "/tests"  # a test's own topics, keyspace and lake folder: `isolated`
ISSUED: list[Settings] = []  # the namespaces this session handed out and has not removed yet


def remove_test_data(namespaces: Callable[[], list[Settings]]) -> None:
    """Deletes tests' topics, keyspaces and lake folders, so the stack does not grow with every run; a failure to
    tidy up is a warning, not a failed run."""
    try:
        scratch.remove(namespaces())
    except Exception as err:  # noqa: BLE001 - the tests ran; what was left is said, not failed
        warnings.warn(f"test data left on the stack: {err!r}", stacklevel=1)


@pytest.fixture
def isolated(stack_settings: Settings) -> Iterator[Settings]:
    """Settings of the stack with topics and lake folders of this test's own, so tests never see each other's data.
    They are deleted when the test ends (when a service is down then, at the session's end)."""
    namespace = scratch.of(stack_settings, f"t{uuid.uuid4().hex[:10]}", TEST_LAKE)
    ISSUED.append(namespace)
    yield namespace
    with contextlib.suppress(Exception):  # a test that stopped a service: the session's end tries again
        scratch.remove([namespace])
        ISSUED.remove(namespace)


@pytest.fixture
def kill_stream_mid_run(spark, tmp_path):
    """Returns a function that runs ``retail bronze stream`` (plus extra arguments) in its own process group with
    small micro-batches, waits until it committed ``committed`` batches, then kill -9s the driver and its JVM."""

    def run(settings: Settings, *extra: str, committed: int = 3) -> None:
        env = {
            **os.environ,
            "RETAIL_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
            "RETAIL_LAKE_PATH": settings.lake_path,
            "RETAIL_CASSANDRA_KEYSPACE": settings.cassandra_keyspace,
        }
        log = tmp_path / "stream.log"
        command = [
            str(Path(sys.executable).parent / "retail"),
            "bronze",
            "stream",
            "--max-offsets",
            "300",
            "--trigger-seconds",
            "0.5",
            *extra,
        ]
        with log.open("wb") as out:
            stream = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        query = STREAM_QUERY if "--silver" in extra else BRONZE_ONLY_QUERY
        lake, commits = Lake(spark), settings.lake().checkpoint(query) + "/commits"
        wait_s = scaled(240)
        deadline = time.monotonic() + wait_s
        try:
            while len(lake.names(commits)) < committed:
                assert stream.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, f"the stream committed fewer than {committed} batches in {wait_s} s"
                time.sleep(0.2)
        finally:
            os.killpg(stream.pid, signal.SIGKILL)
            stream.wait()

    return run


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def silver_lake(isolated, spark, tmp_path):
    """A lake whose silver holds 5,000 generated records (5 % bad) streamed through Kafka."""
    records = list(itertools.islice(generate(GeneratorConfig(seed=31, bad_fraction=0.05)), 5000))
    ensure_topics(isolated)
    assert produce(records, isolated, tmp_path / "ledger.jsonl").acked == len(records)
    query = start_stream(spark, isolated, trigger_seconds=None, silver=True)
    query.awaitTermination()
    assert query.exception() is None
    return isolated.model_copy(update={"gold_path": tmp_path / "gold"})
