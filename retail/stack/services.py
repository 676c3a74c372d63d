"""The services of the native stack: what each runs, on which ports, with what heap, and how it proves health."""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from string import Template

from retail.dashboards.live import is_fresh
from retail.dashboards.secrets import ensure_secrets
from retail.settings import REPO_ROOT, Settings
from retail.stack import health
from retail.stack.artifacts import SPARK_HOME, ArtifactGroup, fetch, load_groups
from retail.stack.errors import StackError
from retail.stack.prefect_runs import abandon_runs

CONF_TEMPLATES = REPO_ROOT / "infra/stack/conf"
_JVM_BASE = ("-XX:+ExitOnOutOfMemoryError", "-Djava.net.preferIPv4Stack=true", "-Djava.awt.headless=true")
# Cassandra's own jvm17-server.options: the JDK internals it reaches into on Java 17.
_CASSANDRA_JPMS = (
    "-Djdk.attach.allowAttachSelf=true",
    *(
        f"--add-exports={m}=ALL-UNNAMED"
        for m in (
            "java.base/jdk.internal.misc",
            "java.management.rmi/com.sun.jmx.remote.internal.rmi",
            "java.rmi/sun.rmi.registry",
            "java.rmi/sun.rmi.server",
            "java.sql/java.sql",
            "java.base/java.lang.ref",
            "jdk.unsupported/sun.misc",
            "jdk.compiler/com.sun.tools.javac.file",
            "jdk.attach/sun.tools.attach",
        )
    ),
    *(
        f"--add-opens={m}=ALL-UNNAMED"
        for m in (
            "java.base/java.lang.module",
            "java.base/jdk.internal.loader",
            "java.base/jdk.internal.ref",
            "java.base/jdk.internal.reflect",
            "java.base/jdk.internal.math",
            "java.base/jdk.internal.module",
            "java.base/jdk.internal.util.jar",
            "jdk.management/com.sun.management.internal",
            "java.base/sun.nio.ch",
            "java.base/java.io",
            "java.base/java.lang.reflect",
            "jdk.compiler/com.sun.tools.javac",
            "java.base/java.lang",
            "java.base/java.util",
        )
    ),
    "-Dio.netty.tryReflectionSetAccessible=true",
)


@dataclass(frozen=True)
class Layout:
    """Where a service keeps its data, rendered config, log and pid file under the stack home."""

    home: Path

    def data(self, name: str) -> Path:
        """Returns a service's data folder."""
        return self.home / name / "data"

    def conf(self, name: str) -> Path:
        """Returns a service's configuration folder."""
        return self.home / name / "conf"

    @property
    def logs(self) -> Path:
        """The folder of every service's log."""
        return self.home / "logs"

    def log(self, name: str) -> Path:
        """Returns a service's log file."""
        return self.logs / f"{name}.log"

    def pid(self, name: str) -> Path:
        """Returns a service's pid file."""
        return self.home / "run" / f"{name}.pid"


@dataclass(frozen=True)
class Service:
    """One process of the stack. ``prepare`` renders config and formats storage; it runs right before a start and
    may return a line of news for the user."""

    name: str
    ports: tuple[int, ...]
    command: tuple[str, ...]
    healthy: Callable[[], bool]
    address: str  # where it answers: a URL, host:port, a work pool or a file
    heap_mb: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    artifacts: tuple[ArtifactGroup, ...] = ()
    prepare: Callable[[], str | None] = lambda: None
    before_stop: Callable[[], None] = lambda: None  # while the services it needs still run
    stop_signals: int = 1
    # Under the docker runtime: the project image that runs it (infra/images), and folders of this machine it sees
    # at the same paths, read-only, besides the stack home.
    image: str | None = None
    mounts: tuple[Path, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Changes whenever the command line or environment does (ports, heaps, versions, paths)."""
        return hashlib.sha256(json.dumps([self.command, sorted(self.env.items())]).encode()).hexdigest()[:16]


def java_command(
    heap_mb: int, classpath: str, main: str, *args: str, gc: str = "-XX:+UseSerialGC", extra: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Returns the command line of a JVM service with its heap and options."""
    return ("java", f"-Xmx{heap_mb}m", gc, *_JVM_BASE, *extra, "-cp", classpath, main, *args)


def render(template_dir: Path, target: Path, values: dict[str, object]) -> None:
    """Writes every template of ``template_dir`` into ``target`` with ``${name}`` placeholders filled in."""
    for template in template_dir.rglob("*"):
        if template.is_file():
            text = Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})
            out = target / template.relative_to(template_dir)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)


def _run_once(command: tuple[str, ...], what: str, env: dict[str, str] | None = None) -> None:
    full_env = {**os.environ, **env} if env else None
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=full_env)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise StackError(f"{what} failed (exit {result.returncode}):\n{tail}")


# Jersey 1 (WebHDFS) defines classes reflectively, which Java 17 allows only with these opens.
_HADOOP_OPENS = tuple(
    f"--add-opens=java.base/{p}=ALL-UNNAMED"
    for p in (
        "java.lang",
        "java.lang.reflect",
        "java.io",
        "java.net",
        "java.nio",
        "java.util",
        "java.util.concurrent",
        "sun.nio.ch",
    )
)


@dataclass(frozen=True)
class _Context:
    """What every service's factory reads: the settings and the stack's folders, artifacts and endpoints."""

    settings: Settings

    @property
    def s(self):
        return self.settings.stack

    @property
    def host(self) -> str:
        return self.settings.stack.host

    @property
    def layout(self) -> Layout:
        return Layout(self.settings.stack.home)

    @property
    def endpoints(self):
        return self.settings.endpoints()

    def lib(self, name: str) -> ArtifactGroup:
        return load_groups(self.s.cache_dir)[name]

    @property
    def namenode_http(self) -> str:
        return f"http://{self.host}:{self.s.namenode_http_port}"

    @property
    def master_ui(self) -> str:
        return f"http://{self.host}:{self.s.spark_master_ui_port}"

    @property
    def hadoop_cp(self) -> str:
        return f"{self.layout.conf('hdfs')}:{self.lib('hadoop').classpath()}"

    @property
    def hadoop_opts(self) -> tuple[str, ...]:
        layout = self.layout
        return (f"-Dhadoop.log.dir={layout.logs}", f"-Dhadoop.home.dir={layout.home / 'hdfs'}", *_HADOOP_OPENS)

    @property
    def prefect_bin(self) -> str:
        return str(Path(sys.executable).parent / "prefect")

    @property
    def prefect_env(self) -> dict[str, str]:
        return {
            "PREFECT_HOME": str(self.s.home / "prefect"),
            "PREFECT_API_URL": self.endpoints.prefect_api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
        }


def build_services(settings: Settings) -> list[Service]:
    """Returns the stack's services in start order, configured from ``settings``."""
    ctx = _Context(settings)
    return [factory(ctx) for factory in _FACTORIES]


def _kafka(ctx: _Context) -> Service:
    s, layout, lib = ctx.s, ctx.layout, ctx.lib("kafka")
    conf, data = layout.conf("kafka"), layout.data("kafka")

    def prepare() -> None:
        values = {"host": ctx.host, "port": s.kafka_port, "controller_port": s.kafka_controller_port, "data_dir": data}
        render(CONF_TEMPLATES / "kafka", conf, values)
        if not (data / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            tool = ("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(conf / "server.properties"))
            _run_once(("java", "-cp", lib.classpath(), *tool), "formatting Kafka storage")

    return Service(
        name="kafka",
        ports=(s.kafka_port, s.kafka_controller_port),
        address=ctx.endpoints.kafka_bootstrap_servers,
        heap_mb=s.kafka_heap_mb,
        command=java_command(
            s.kafka_heap_mb,
            lib.classpath(),
            "kafka.Kafka",
            str(conf / "server.properties"),
            gc="-XX:+UseG1GC",
            extra=(f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}",),
        ),
        healthy=partial(health.kafka, ctx.endpoints.kafka_bootstrap_servers),
        artifacts=(lib,),
        prepare=prepare,
        image="kafka",
    )


def _namenode(ctx: _Context) -> Service:
    s, layout = ctx.s, ctx.layout
    values = {
        "host": ctx.host,
        "namenode_rpc_port": s.namenode_rpc_port,
        "namenode_http_port": s.namenode_http_port,
        "datanode_port": s.datanode_port,
        "datanode_http_port": s.datanode_http_port,
        "datanode_ipc_port": s.datanode_ipc_port,
        "data_dir": layout.data("hdfs"),
        "user": getpass.getuser(),
    }
    main = "org.apache.hadoop.hdfs.server.namenode.NameNode"

    def prepare() -> None:
        render(CONF_TEMPLATES / "hadoop", layout.conf("hdfs"), values)
        if not (layout.data("hdfs") / "name/current/VERSION").exists():
            fmt = java_command(256, ctx.hadoop_cp, main, "-format", "-force", "-nonInteractive", extra=ctx.hadoop_opts)
            _run_once(fmt, "formatting the HDFS NameNode")

    return Service(
        name="namenode",
        ports=(s.namenode_rpc_port, s.namenode_http_port),
        address=ctx.namenode_http,
        heap_mb=s.namenode_heap_mb,
        command=java_command(s.namenode_heap_mb, ctx.hadoop_cp, main, extra=ctx.hadoop_opts),
        healthy=partial(health.namenode, ctx.namenode_http),
        artifacts=(ctx.lib("hadoop"),),
        prepare=prepare,
        image="hadoop",
    )


def _datanode(ctx: _Context) -> Service:
    s = ctx.s
    return Service(
        name="datanode",
        ports=(s.datanode_port, s.datanode_http_port, s.datanode_ipc_port),
        address=f"http://{ctx.host}:{s.datanode_http_port}",
        heap_mb=s.datanode_heap_mb,
        command=java_command(
            s.datanode_heap_mb, ctx.hadoop_cp, "org.apache.hadoop.hdfs.server.datanode.DataNode", extra=ctx.hadoop_opts
        ),
        healthy=partial(health.datanode, ctx.namenode_http),
        requires=("namenode",),
        artifacts=(ctx.lib("hadoop"),),
        image="hadoop",
    )


def _cassandra(ctx: _Context) -> Service:
    s, layout, lib = ctx.s, ctx.layout, ctx.lib("cassandra")
    conf, data = layout.conf("cassandra"), layout.data("cassandra")
    jamm = [f"-javaagent:{j}" for j in lib.jars() if j.name.startswith("jamm-")][:1]
    values = {"host": ctx.host, "port": s.cassandra_port, "storage_port": s.cassandra_storage_port, "data_dir": data}
    return Service(
        name="cassandra",
        ports=(s.cassandra_port, s.cassandra_storage_port),
        address=f"{ctx.host}:{s.cassandra_port}",
        heap_mb=s.cassandra_heap_mb,
        command=java_command(
            s.cassandra_heap_mb,
            f"{conf}:{lib.classpath()}",
            "org.apache.cassandra.service.CassandraDaemon",
            gc="-XX:+UseG1GC",
            extra=(
                f"-Xms{s.cassandra_heap_mb}m",
                "-Xss256k",
                *_CASSANDRA_JPMS,
                *jamm,
                f"-Dcassandra.config=file://{conf / 'cassandra.yaml'}",
                f"-Dlogback.configurationFile={conf / 'logback.xml'}",
                f"-Dcassandra.storagedir={data}",
                f"-Dcassandra.logdir={layout.logs}",
                "-Dcassandra-foreground=yes",
                "-Dcassandra.skip_wait_for_gossip_to_settle=0",
                "-Dcassandra.ring_delay_ms=1000",
            ),
        ),
        healthy=partial(health.cassandra, ctx.host, s.cassandra_port),
        artifacts=(lib,),
        prepare=partial(render, CONF_TEMPLATES / "cassandra", conf, values),
        image="cassandra",
    )


def _spark_master(ctx: _Context) -> Service:
    s = ctx.s
    return Service(
        name="spark-master",
        ports=(s.spark_master_port, s.spark_master_ui_port),
        address=ctx.endpoints.spark_master,
        heap_mb=s.spark_daemon_heap_mb,
        command=java_command(
            s.spark_daemon_heap_mb,
            f"{SPARK_HOME}/jars/*",
            "org.apache.spark.deploy.master.Master",
            *("--host", ctx.host, "--port", str(s.spark_master_port), "--webui-port", str(s.spark_master_ui_port)),
        ),
        env={"SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": ctx.host},
        healthy=partial(health.spark_master, ctx.master_ui),
        image="spark",
    )


def _spark_worker(ctx: _Context) -> Service:
    s = ctx.s
    return Service(
        name="spark-worker",
        ports=(s.spark_worker_port, s.spark_worker_ui_port),
        address=f"http://{ctx.host}:{s.spark_worker_ui_port}",
        heap_mb=s.spark_daemon_heap_mb,
        command=java_command(
            s.spark_daemon_heap_mb,
            f"{SPARK_HOME}/jars/*",
            "org.apache.spark.deploy.worker.Worker",
            *("--host", ctx.host, "--port", str(s.spark_worker_port), "--webui-port", str(s.spark_worker_ui_port)),
            *("--cores", str(s.spark_worker_cores), "--memory", f"{s.spark_worker_memory_mb}m"),
            *("--work-dir", str(ctx.layout.data("spark-worker")), ctx.endpoints.spark_master),
        ),
        # Spark's launcher (which builds executor command lines) looks for source build folders to learn the Scala
        # version unless told; the pyspark wheel has none.
        env={
            "SPARK_HOME": str(SPARK_HOME),
            "SPARK_LOCAL_IP": ctx.host,
            "SPARK_SCALA_VERSION": "2.13",
            "PYSPARK_PYTHON": sys.executable,
        },
        healthy=partial(health.spark_worker, ctx.master_ui),
        requires=("spark-master",),
        image="spark",
        # Its executors run the driver's Python (PYSPARK_PYTHON) and import this project from it.
        mounts=tuple(dict.fromkeys((REPO_ROOT, Path(sys.prefix), Path(sys.base_prefix)))),
    )


def _prefect_server(ctx: _Context) -> Service:
    api = ctx.endpoints.prefect_api_url
    return Service(
        name="prefect-server",
        ports=(ctx.s.prefect_port,),
        address=api.removesuffix("/api"),
        command=(ctx.prefect_bin, "server", "start", "--host", ctx.host, "--port", str(ctx.s.prefect_port)),
        env=ctx.prefect_env,
        healthy=partial(health.prefect_server, api),
    )


def _cancel_orphans(api_url: str, pool: str) -> str | None:
    """Cancels the flow runs a worker that was killed left behind (see ``abandon_runs``); says which."""
    if names := abandon_runs(api_url, pool, "its worker was gone at stack up"):
        return f"cancelled {len(names)} flow run(s) a worker that was killed left behind: {', '.join(names)}"
    return None


def _prefect_worker(ctx: _Context) -> Service:
    pool = ctx.settings.work_pool
    return Service(
        name="prefect-worker",
        ports=(),
        address=f"work pool {pool}",
        command=(
            *(ctx.prefect_bin, "worker", "start"),
            *("--pool", pool, "--type", "process", "--name", "retail-local-worker"),
        ),
        env=ctx.prefect_env,
        healthy=partial(health.prefect_worker, ctx.endpoints.prefect_api_url, pool),
        requires=("prefect-server",),
        # Its flow runs stop with it: say so in Prefect, or they stay "running" and keep their slots for ever. A
        # worker that starts finds the runs of one that died without saying (a killed session, a crash) the same way.
        prepare=partial(_cancel_orphans, ctx.endpoints.prefect_api_url, pool),
        before_stop=partial(abandon_runs, ctx.endpoints.prefect_api_url, pool),
        stop_signals=2,
    )


SUPERSET_CONFIG = REPO_ROOT / "dashboards/superset_config.py"
SUPERSET_LOCK = REPO_ROOT / "dashboards/requirements.lock"


def _superset(ctx: _Context) -> Service:
    s, layout = ctx.s, ctx.layout
    home, bin_dir = s.home / "superset", s.superset_venv / "bin"
    env = {
        "RETAIL_SUPERSET_HOME": str(home),
        "SUPERSET_CONFIG_PATH": str(SUPERSET_CONFIG),
        "SUPERSET_LOAD_EXAMPLES": "no",
    }

    def prepare() -> None:
        if not (bin_dir / "superset").exists():
            raise StackError(f"Superset's environment {s.superset_venv} is missing: run `./run setup`")
        ensure_secrets(home)

    # Metadata migrations, the roles and the admin once per Superset version (~1 min), in the service's own process
    # before it becomes the server (``retail.dashboards.serve``): the other services start meanwhile.
    marker, digest = layout.data("superset") / ".initialised", hashlib.sha256(SUPERSET_LOCK.read_bytes()).hexdigest()
    url = f"http://{ctx.host}:{s.superset_port}"
    return Service(
        name="superset",
        ports=(s.superset_port,),
        address=url,
        # One worker with threads: ~350 MiB; more workers each load all of Superset again.
        command=(
            *(sys.executable, "-m", "retail.dashboards.serve", str(marker), digest, "--"),
            str(bin_dir / "gunicorn"),
            *("--workers", "1", "--threads", "4", "--timeout", "120", "--bind", f"{ctx.host}:{s.superset_port}"),
            "superset.app:create_app()",
        ),
        env=env,
        healthy=partial(health.superset, url),
        prepare=prepare,
    )


def _live_feed(ctx: _Context) -> Service:
    settings = ctx.settings
    return Service(
        name="live-feed",
        ports=(),
        address=str(settings.live_path),
        command=(sys.executable, "-m", "retail.dashboards.live"),
        env={"RETAIL_LIVE_PATH": str(settings.live_path), "RETAIL_CASSANDRA_KEYSPACE": settings.cassandra_keyspace},
        healthy=partial(is_fresh, settings.live_path, max(15.0, 5 * ctx.s.live_refresh_s)),
        requires=("cassandra",),
    )


_FACTORIES = (
    _kafka,
    _namenode,
    _datanode,
    _cassandra,
    _spark_master,
    _spark_worker,
    _prefect_server,
    _prefect_worker,
    _superset,
    _live_feed,
)


def fetch_artifacts(settings: Settings, announce: Callable[[ArtifactGroup], None] = lambda g: None) -> None:
    """Resolves every artifact group of the stack into the cache (a no-op once cached); ``announce`` hears of
    each group that has to be downloaded."""
    for group in load_groups(settings.stack.cache_dir).values():
        if not group.ready:
            announce(group)
            fetch(group)
