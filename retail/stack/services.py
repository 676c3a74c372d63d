"""The services of the native stack: what each runs, on which ports, with what heap, and how it proves health."""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from string import Template

from retail.settings import REPO_ROOT, Settings
from retail.stack import health
from retail.stack.artifacts import SPARK_HOME, ArtifactGroup, fetch, load_groups
from retail.stack.errors import StackError

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
    """One process of the stack. ``prepare`` renders config and formats storage; it runs right before a start."""

    name: str
    ports: tuple[int, ...]
    command: tuple[str, ...]
    healthy: Callable[[], bool]
    url: str
    heap_mb: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    artifacts: tuple[ArtifactGroup, ...] = ()
    prepare: Callable[[], None] = lambda: None
    stop_signals: int = 1

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


def _run_once(command: tuple[str, ...], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise StackError(f"{what} failed (exit {result.returncode}):\n{tail}")


def build_services(settings: Settings) -> list[Service]:
    """Returns the stack's services in start order, configured from ``settings``."""
    s, host, layout = settings.stack, settings.stack.host, Layout(settings.stack.home)
    groups = load_groups(s.cache_dir)
    kafka_lib, hadoop_lib, cassandra_lib = groups["kafka"], groups["hadoop"], groups["cassandra"]
    endpoints = settings.endpoints()
    namenode_http = f"http://{host}:{s.namenode_http_port}"
    master_ui = f"http://{host}:{s.spark_master_ui_port}"
    prefect_bin = str(Path(sys.executable).parent / "prefect")
    prefect_env = {
        "PREFECT_HOME": str(s.home / "prefect"),
        "PREFECT_API_URL": endpoints.prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }

    def prepare_kafka() -> None:
        conf, data = layout.conf("kafka"), layout.data("kafka")
        render(
            CONF_TEMPLATES / "kafka",
            conf,
            {"host": host, "port": s.kafka_port, "controller_port": s.kafka_controller_port, "data_dir": data},
        )
        if not (data / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            _run_once(
                (
                    "java",
                    "-cp",
                    kafka_lib.classpath(),
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(conf / "server.properties"),
                ),
                "formatting Kafka storage",
            )

    hadoop_values = {
        "host": host,
        "namenode_rpc_port": s.namenode_rpc_port,
        "namenode_http_port": s.namenode_http_port,
        "datanode_port": s.datanode_port,
        "datanode_http_port": s.datanode_http_port,
        "datanode_ipc_port": s.datanode_ipc_port,
        "data_dir": layout.data("hdfs"),
        "user": getpass.getuser(),
    }
    hadoop_cp = f"{layout.conf('hdfs')}:{hadoop_lib.classpath()}"
    # Jersey 1 (WebHDFS) defines classes reflectively, which Java 17 allows only with these opens.
    hadoop_opts = (
        f"-Dhadoop.log.dir={layout.logs}",
        f"-Dhadoop.home.dir={layout.home / 'hdfs'}",
        *(
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
        ),
    )

    def prepare_namenode() -> None:
        render(CONF_TEMPLATES / "hadoop", layout.conf("hdfs"), hadoop_values)
        if not (layout.data("hdfs") / "name/current/VERSION").exists():
            _run_once(
                java_command(
                    256,
                    hadoop_cp,
                    "org.apache.hadoop.hdfs.server.namenode.NameNode",
                    "-format",
                    "-force",
                    "-nonInteractive",
                    extra=hadoop_opts,
                ),
                "formatting the HDFS NameNode",
            )

    cassandra_conf, cassandra_data = layout.conf("cassandra"), layout.data("cassandra")
    jamm = [f"-javaagent:{j}" for j in cassandra_lib.jars() if j.name.startswith("jamm-")][:1]

    return [
        Service(
            name="kafka",
            ports=(s.kafka_port, s.kafka_controller_port),
            url=endpoints.kafka_bootstrap_servers,
            heap_mb=s.kafka_heap_mb,
            command=java_command(
                s.kafka_heap_mb,
                kafka_lib.classpath(),
                "kafka.Kafka",
                str(layout.conf("kafka") / "server.properties"),
                gc="-XX:+UseG1GC",
                extra=(f"-Dlog4j2.configurationFile={layout.conf('kafka') / 'log4j2.properties'}",),
            ),
            healthy=partial(health.kafka, endpoints.kafka_bootstrap_servers),
            artifacts=(kafka_lib,),
            prepare=prepare_kafka,
        ),
        Service(
            name="namenode",
            ports=(s.namenode_rpc_port, s.namenode_http_port),
            url=namenode_http,
            heap_mb=s.namenode_heap_mb,
            command=java_command(
                s.namenode_heap_mb, hadoop_cp, "org.apache.hadoop.hdfs.server.namenode.NameNode", extra=hadoop_opts
            ),
            healthy=partial(health.namenode, namenode_http),
            artifacts=(hadoop_lib,),
            prepare=prepare_namenode,
        ),
        Service(
            name="datanode",
            ports=(s.datanode_port, s.datanode_http_port, s.datanode_ipc_port),
            url=f"http://{host}:{s.datanode_http_port}",
            heap_mb=s.datanode_heap_mb,
            command=java_command(
                s.datanode_heap_mb, hadoop_cp, "org.apache.hadoop.hdfs.server.datanode.DataNode", extra=hadoop_opts
            ),
            healthy=partial(health.datanode, namenode_http),
            requires=("namenode",),
            artifacts=(hadoop_lib,),
        ),
        Service(
            name="cassandra",
            ports=(s.cassandra_port, s.cassandra_storage_port),
            url=f"{host}:{s.cassandra_port}",
            heap_mb=s.cassandra_heap_mb,
            command=java_command(
                s.cassandra_heap_mb,
                f"{cassandra_conf}:{cassandra_lib.classpath()}",
                "org.apache.cassandra.service.CassandraDaemon",
                gc="-XX:+UseG1GC",
                extra=(
                    f"-Xms{s.cassandra_heap_mb}m",
                    "-Xss256k",
                    *_CASSANDRA_JPMS,
                    *jamm,
                    f"-Dcassandra.config=file://{cassandra_conf / 'cassandra.yaml'}",
                    f"-Dlogback.configurationFile={cassandra_conf / 'logback.xml'}",
                    f"-Dcassandra.storagedir={cassandra_data}",
                    f"-Dcassandra.logdir={layout.logs}",
                    "-Dcassandra-foreground=yes",
                    "-Dcassandra.skip_wait_for_gossip_to_settle=0",
                    "-Dcassandra.ring_delay_ms=1000",
                ),
            ),
            healthy=partial(health.cassandra, host, s.cassandra_port),
            artifacts=(cassandra_lib,),
            prepare=lambda: render(
                CONF_TEMPLATES / "cassandra",
                cassandra_conf,
                {
                    "host": host,
                    "port": s.cassandra_port,
                    "storage_port": s.cassandra_storage_port,
                    "data_dir": cassandra_data,
                },
            ),
        ),
        Service(
            name="spark-master",
            ports=(s.spark_master_port, s.spark_master_ui_port),
            url=endpoints.spark_master,
            heap_mb=s.spark_daemon_heap_mb,
            command=java_command(
                s.spark_daemon_heap_mb,
                f"{SPARK_HOME}/jars/*",
                "org.apache.spark.deploy.master.Master",
                "--host",
                host,
                "--port",
                str(s.spark_master_port),
                "--webui-port",
                str(s.spark_master_ui_port),
            ),
            env={"SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": host},
            healthy=partial(health.spark_master, master_ui),
        ),
        Service(
            name="spark-worker",
            ports=(s.spark_worker_port, s.spark_worker_ui_port),
            url=f"http://{host}:{s.spark_worker_ui_port}",
            heap_mb=s.spark_daemon_heap_mb,
            command=java_command(
                s.spark_daemon_heap_mb,
                f"{SPARK_HOME}/jars/*",
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                host,
                "--port",
                str(s.spark_worker_port),
                "--webui-port",
                str(s.spark_worker_ui_port),
                "--cores",
                str(s.spark_worker_cores),
                "--memory",
                f"{s.spark_worker_memory_mb}m",
                "--work-dir",
                str(layout.data("spark-worker")),
                endpoints.spark_master,
            ),
            # Spark's launcher (which builds executor command lines) looks for source build folders to learn the
            # Scala version unless told; the pyspark wheel has none.
            env={
                "SPARK_HOME": str(SPARK_HOME),
                "SPARK_LOCAL_IP": host,
                "SPARK_SCALA_VERSION": "2.13",
                "PYSPARK_PYTHON": sys.executable,
            },
            healthy=partial(health.spark_worker, master_ui),
            requires=("spark-master",),
        ),
        Service(
            name="prefect-server",
            ports=(s.prefect_port,),
            url=endpoints.prefect_api_url.removesuffix("/api"),
            command=(prefect_bin, "server", "start", "--host", host, "--port", str(s.prefect_port)),
            env=prefect_env,
            healthy=partial(health.prefect_server, endpoints.prefect_api_url),
        ),
        Service(
            name="prefect-worker",
            ports=(),
            url=f"work pool {settings.work_pool}",
            command=(
                prefect_bin,
                "worker",
                "start",
                "--pool",
                settings.work_pool,
                "--type",
                "process",
                "--name",
                "retail-local-worker",
            ),
            env=prefect_env,
            healthy=partial(health.prefect_worker, endpoints.prefect_api_url, settings.work_pool),
            requires=("prefect-server",),
            stop_signals=2,
        ),
    ]


def fetch_artifacts(settings: Settings, announce: Callable[[ArtifactGroup], None] = lambda g: None) -> None:
    """Resolves every artifact group of the stack into the cache (a no-op once cached); ``announce`` hears of
    each group that has to be downloaded."""
    for group in load_groups(settings.stack.cache_dir).values():
        if not group.ready:
            announce(group)
            fetch(group)
