"""The one configuration object of every Python entry point (env prefix ``RETAIL_``).

Profiles differ only in where endpoints come from:

- ``local``: the native stack on this machine; any endpoint left unset is derived from the stack's ports on its host.
- ``docker`` and ``cluster``: every endpoint and the Cassandra role and secret must be given; nothing is assumed.
  The cluster profile also needs the Spark driver's address (``RETAIL_SPARK_DRIVER_HOST``): executors connect back
  to it, and the default, 127.0.0.1, is reachable from this machine only. The docker profile keeps that default
  unchecked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, Field, SecretBytes, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from retail.lake import LakeLayout

REPO_ROOT = Path(__file__).resolve().parent.parent


class Profile(StrEnum):
    """Where the services run: on this machine (the stack) or elsewhere (every endpoint explicit)."""

    LOCAL = "local"
    DOCKER = "docker"
    CLUSTER = "cluster"


class CsvSettings(BaseModel):
    """How CSV batch files are written (``RETAIL_CSV__DELIMITER`` and so on); the CLI's options win."""

    delimiter: str = Field(default=",", description="one character between fields")
    encoding: str = Field(default="utf-8", description="utf-8 (a byte order mark is fine), latin-1 or ascii")
    extra_columns: bool = Field(
        default=False, description="keep columns the contract does not know in bronze instead of rejecting the file"
    )


class KafkaSecurity(BaseModel):
    """How clients authenticate to Kafka (``RETAIL_KAFKA_SECURITY__<NAME>``): PLAINTEXT on the local stack, TLS
    and/or SASL (PLAIN or SCRAM) on a cluster. The same settings reach librdkafka and Spark's Java client."""

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ca_file: Path | None = Field(default=None, description="PEM file of the CA that signed the brokers' certificates")

    @model_validator(mode="after")
    def _sasl_needs_a_login(self) -> KafkaSecurity:
        if self.protocol.startswith("SASL") and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"Kafka security protocol {self.protocol} needs RETAIL_KAFKA_SECURITY__SASL_USERNAME and "
                "RETAIL_KAFKA_SECURITY__SASL_PASSWORD"
            )
        return self

    def librdkafka(self) -> dict[str, str]:
        """Returns the librdkafka properties (producer, consumer, admin)."""
        config = {"security.protocol": self.protocol}
        if self.protocol.startswith("SASL"):
            config |= {
                "sasl.mechanism": self.sasl_mechanism,
                "sasl.username": str(self.sasl_username),
                "sasl.password": self.sasl_password.get_secret_value(),
            }
        if self.ca_file and self.protocol.endswith("SSL"):
            config["ssl.ca.location"] = str(self.ca_file)
        return config

    def spark_options(self) -> dict[str, str]:
        """Returns the ``kafka.``-prefixed options of Spark's Kafka source (the Java client's properties)."""
        options = {"kafka.security.protocol": self.protocol}
        if self.protocol.startswith("SASL"):
            module = "plain.PlainLoginModule" if self.sasl_mechanism == "PLAIN" else "scram.ScramLoginModule"
            secret = self.sasl_password.get_secret_value().replace("\\", "\\\\").replace('"', '\\"')
            options |= {
                "kafka.sasl.mechanism": self.sasl_mechanism,
                "kafka.sasl.jaas.config": f"org.apache.kafka.common.security.{module} required "
                f'username="{self.sasl_username}" password="{secret}";',
            }
        if self.ca_file and self.protocol.endswith("SSL"):
            options |= {"kafka.ssl.truststore.type": "PEM", "kafka.ssl.truststore.location": str(self.ca_file)}
        return options


class StackSettings(BaseModel):
    """Ports, heaps and folders of the native local stack (``RETAIL_STACK__<NAME>``)."""

    host: str = "127.0.0.1"
    runtime: Literal["native", "docker"] = Field(
        default="native",
        description="how the JVM services run: processes of this machine's Java, or containers of the project's images",
    )
    home: Path = Field(default=Path.home() / ".local/share/retail-platform/stack", description="data, logs, pids")
    cache_dir: Path = Field(default=Path.home() / ".cache/retail-platform", description="downloaded artifacts")

    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    namenode_rpc_port: int = 9000
    namenode_http_port: int = 9870
    datanode_port: int = 9866
    datanode_http_port: int = 9864
    datanode_ipc_port: int = 9867
    cassandra_port: int = 9042
    cassandra_storage_port: int = 7000
    spark_master_port: int = 7077
    spark_master_ui_port: int = 8080
    spark_worker_port: int = 7078
    spark_worker_ui_port: int = 8081
    prefect_port: int = 4200
    superset_port: int = 8088

    kafka_heap_mb: int = 512
    namenode_heap_mb: int = 384
    datanode_heap_mb: int = 256
    cassandra_heap_mb: int = 1024
    spark_daemon_heap_mb: int = 256
    # More cores than the machine has: a micro-batch's tasks mostly wait on IO (HDFS, Cassandra, Kafka), and two
    # applications (a test session's or a flow run's beside the live stream's) must fit at once.
    spark_worker_cores: int = 48
    spark_worker_memory_mb: int = 3072

    superset_venv: Path = Field(
        default=REPO_ROOT / ".superset-venv", description="Superset's own environment (made by ./run setup)"
    )
    live_refresh_s: float = Field(default=2.0, description="how often the live feed sums sales per minute")

    health_deadline_s: float = Field(default=180.0, description="how long a service may take to become healthy")


_ENDPOINT_VARS = {
    "kafka_bootstrap_servers": "RETAIL_KAFKA_BOOTSTRAP_SERVERS",
    "hdfs_uri": "RETAIL_HDFS_URI",
    "webhdfs_url": "RETAIL_WEBHDFS_URL",
    "cassandra_hosts": "RETAIL_CASSANDRA_HOSTS",
    "spark_master": "RETAIL_SPARK_MASTER",
    "prefect_api_url": "RETAIL_PREFECT_API_URL",
}


@dataclass(frozen=True)
class Endpoints:
    """Where each service answers; the same names in every profile."""

    kafka_bootstrap_servers: str
    hdfs_uri: str
    webhdfs_url: str
    cassandra_hosts: tuple[str, ...]
    cassandra_port: int
    spark_master: str
    prefect_api_url: str

    def as_dict(self) -> dict[str, object]:
        """Returns the endpoints as a plain dict."""
        return asdict(self)


class Settings(BaseSettings):
    """The platform's configuration, from ``RETAIL_*`` variables or ``.env``, checked when built."""

    model_config = SettingsConfigDict(env_prefix="RETAIL_", env_nested_delimiter="__", env_file=".env", extra="ignore")

    profile: Profile = Profile.LOCAL
    kafka_bootstrap_servers: str | None = None
    hdfs_uri: str | None = None
    webhdfs_url: str | None = None
    cassandra_hosts: str | None = Field(default=None, description="comma-separated contact points")
    cassandra_port: int | None = None
    cassandra_username: str | None = None
    cassandra_password: SecretStr | None = None
    cassandra_ca_file: Path | None = Field(
        default=None, description="PEM file of the CA of Cassandra's client TLS; set, every connection uses TLS"
    )
    kafka_security: KafkaSecurity = KafkaSecurity()
    cassandra_keyspace: str = Field(default="retail", description="keyspace of the real-time tables")
    cassandra_replication: int = Field(default=1, description="replication factor of that keyspace")
    cassandra_datacenter: str = Field(
        default="datacenter1", description="the Cassandra data center the fresh path's writer sends its requests to"
    )
    spark_master: str | None = None
    spark_driver_host: str = Field(
        default="127.0.0.1",
        description="address the Spark driver and its UI listen on, and executors connect back to; loopback unless "
        "set (the cluster profile requires it)",
    )
    spark_executor_memory: str = Field(default="1g", description="memory of each Spark executor")
    # Task slots, not CPUs: on 2 shared cores, 4 slots let the serving query's short tasks run beside a silver
    # batch's instead of queueing behind them (measured at 1,000 events/s offered: produce -> Cassandra p50 7.0 s
    # instead of 13.3 s, 600 events/s processed instead of 455; benchmarks/realtime.py).
    spark_cores: int = Field(default=4, description="task slots (cores) a Spark application takes at most")
    serving_mode: Literal["real-time", "micro-batch"] = Field(
        default="real-time",
        description="how the fresh path runs: Spark's real-time mode (a task stays on each Kafka partition, "
        "milliseconds to Cassandra) or micro-batches back to back (seconds)",
    )
    serving_batch_s: int = Field(
        default=300, description="length of a real-time batch: the fresh path checkpoints its offsets at its end"
    )
    prefect_api_url: str | None = None
    work_pool: str = "retail-process"
    kafka_topic_prefix: str = Field(default="", description="put before every entity topic name")
    kafka_partitions: int = Field(default=3, description="partitions of each entity topic")
    kafka_replication: int = Field(default=1, description="replication factor of each entity topic")
    kafka_retention_ms: int = Field(default=7 * 24 * 3600 * 1000, description="retention of each entity topic")
    lake_path: str = Field(default="/retail", description="root of bronze, silver and checkpoints on HDFS")
    hdfs_user: str = Field(default="retail", description="the user WebHDFS requests act as")
    gold_path: Path = Field(
        default=Path.home() / ".local/share/retail-platform/gold", description="gold builds and the `current` link"
    )
    gold_source: Literal["hdfs", "local"] = Field(
        default="hdfs", description="dbt target: the lake on HDFS through WebHDFS, or in local_lake_path"
    )
    local_lake_path: Path | None = Field(
        default=None, description="the lake folder (silver/, quarantine/, ...) of the local target"
    )
    ledger_path: Path = Field(
        default=Path.home() / ".local/share/retail-platform/ledgers",
        description="producer ledgers of the flows' runs (one JSON-lines file per run)",
    )
    inbox_path: Path = Field(
        default=Path.home() / ".local/share/retail-platform/inbox", description="CSV batch files waiting for ingest"
    )
    live_path: Path = Field(
        default=Path.home() / ".local/share/retail-platform/live/sales_per_minute.duckdb",
        description="the live feed's DuckDB file: sales per minute of the last hour, for the live dashboard",
    )
    gold_keep_builds: int = Field(default=3, description="published gold builds kept, the current one included")
    csv: CsvSettings = CsvSettings()
    stack: StackSettings = StackSettings()

    @model_validator(mode="after")
    def _remote_profiles_are_explicit(self) -> Settings:
        if self.gold_source == "local" and self.local_lake_path is None:
            raise ValueError("RETAIL_GOLD_SOURCE=local reads the lake from a folder: set RETAIL_LOCAL_LAKE_PATH")
        if self.profile is Profile.LOCAL:
            return self
        missing = [var for field, var in _ENDPOINT_VARS.items() if not getattr(self, field)]
        if not (self.cassandra_username and self.cassandra_password):
            missing += ["RETAIL_CASSANDRA_USERNAME", "RETAIL_CASSANDRA_PASSWORD"]
        if self.profile is Profile.CLUSTER and "spark_driver_host" not in self.model_fields_set:
            missing.append("RETAIL_SPARK_DRIVER_HOST")  # executors elsewhere cannot reach a driver on loopback
        if missing:
            raise ValueError(
                f"profile {self.profile.value!r} takes no endpoint or secret defaults; set {', '.join(missing)}"
            )
        return self

    def lake_uri(self, *parts: str) -> str:
        """Returns the HDFS URI of a folder under the lake root, e.g. ``lake_uri("bronze", "kafka")``."""
        return "/".join([self.endpoints().hdfs_uri.rstrip("/") + "/" + self.lake_path.strip("/"), *parts])

    def lake(self) -> LakeLayout:
        """Returns the lake's layout under the configured root."""
        return LakeLayout(self.lake_uri())

    def endpoints(self) -> Endpoints:
        """One resolved set of endpoints: explicit values win, the local stack's ports fill the rest."""
        s, h = self.stack, self.stack.host
        hosts = self.cassandra_hosts or h
        return Endpoints(
            kafka_bootstrap_servers=self.kafka_bootstrap_servers or f"{h}:{s.kafka_port}",
            hdfs_uri=self.hdfs_uri or f"hdfs://{h}:{s.namenode_rpc_port}",
            webhdfs_url=self.webhdfs_url or f"http://{h}:{s.namenode_http_port}",
            cassandra_hosts=tuple(x.strip() for x in hosts.split(",") if x.strip()),
            cassandra_port=self.cassandra_port or s.cassandra_port,
            spark_master=self.spark_master or f"spark://{h}:{s.spark_master_port}",
            prefect_api_url=self.prefect_api_url or f"http://{h}:{s.prefect_port}/api",
        )


def shareable_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """Returns the variables of ``environ`` that set a setting holding no secret: what may travel with a flow run
    (Prefect keeps job variables in plain text). Dropped: every ``SecretStr`` field at any depth, a nested model
    holding one (it can be set whole, as JSON) and variables no setting reads."""
    holds_secret = dict(_variables(Settings, Settings.model_config["env_prefix"].upper()))
    return {name: value for name, value in environ.items() if holds_secret.get(name.upper()) is False}


def _variables(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, bool]]:
    """Yields the variable that sets each field of ``model`` (and of its nested models) and whether it holds a
    secret."""
    for name, field in model.model_fields.items():
        variable = f"{prefix}{name.upper()}"
        types = _types(field.annotation)
        inner = [
            item
            for t in types
            if isinstance(t, type) and issubclass(t, BaseModel)
            for item in _variables(t, f"{variable}__")
        ]
        yield from inner
        secret = any(isinstance(t, type) and issubclass(t, SecretStr | SecretBytes) for t in types)
        yield variable, secret or any(held for _, held in inner)


def _types(annotation: object) -> tuple[object, ...]:
    """Returns the types an annotation is made of (``SecretStr | None`` -> SecretStr, NoneType)."""
    args = get_args(annotation)
    return tuple(t for arg in args for t in _types(arg)) if args else (annotation,)
