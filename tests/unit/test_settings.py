import pytest
from pydantic import ValidationError

from retail.settings import Settings

REMOTE_ENV = {
    "RETAIL_KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
    "RETAIL_HDFS_URI": "hdfs://namenode:8020",
    "RETAIL_WEBHDFS_URL": "http://namenode:9870",
    "RETAIL_CASSANDRA_HOSTS": "cass-a, cass-b",
    "RETAIL_SPARK_MASTER": "spark://spark-master:7077",
    "RETAIL_PREFECT_API_URL": "http://prefect:4200/api",
    "RETAIL_CASSANDRA_USERNAME": "retail",
    "RETAIL_CASSANDRA_PASSWORD": "s3cret",
    "RETAIL_SPARK_DRIVER_HOST": "10.0.0.5",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for var in [*REMOTE_ENV, "RETAIL_PROFILE", "RETAIL_CASSANDRA_PORT"]:
        monkeypatch.delenv(var, raising=False)


def test_local_profile_derives_endpoints_from_stack_ports(monkeypatch):
    monkeypatch.setenv("RETAIL_STACK__KAFKA_PORT", "19092")
    monkeypatch.setenv("RETAIL_STACK__PREFECT_PORT", "14200")

    endpoints = Settings().endpoints()

    assert endpoints.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert endpoints.prefect_api_url == "http://127.0.0.1:14200/api"
    assert endpoints.hdfs_uri == "hdfs://127.0.0.1:9000"
    assert endpoints.cassandra_hosts == ("127.0.0.1",)


@pytest.mark.parametrize("profile", ["docker", "cluster"])
def test_remote_profiles_take_every_endpoint_from_configuration(monkeypatch, profile):
    for var, value in {**REMOTE_ENV, "RETAIL_PROFILE": profile}.items():
        monkeypatch.setenv(var, value)

    settings = Settings()
    endpoints = settings.endpoints()

    assert endpoints.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert endpoints.cassandra_hosts == ("cass-a", "cass-b")
    assert endpoints.spark_master == "spark://spark-master:7077"
    assert "127.0.0.1" not in str(endpoints.as_dict())
    assert settings.cassandra_password.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("RETAIL_KAFKA_BOOTSTRAP_SERVERS", "RETAIL_KAFKA_BOOTSTRAP_SERVERS"),
        ("RETAIL_HDFS_URI", "RETAIL_HDFS_URI"),
        ("RETAIL_CASSANDRA_PASSWORD", "RETAIL_CASSANDRA_PASSWORD"),
        ("RETAIL_SPARK_DRIVER_HOST", "RETAIL_SPARK_DRIVER_HOST"),  # executors elsewhere cannot reach loopback
    ],
)
def test_remote_profile_names_what_is_missing(monkeypatch, missing, named):
    for var, value in {**REMOTE_ENV, "RETAIL_PROFILE": "cluster"}.items():
        if var != missing:
            monkeypatch.setenv(var, value)

    with pytest.raises(ValidationError, match=named):
        Settings()


def test_the_docker_profile_keeps_the_spark_driver_on_loopback(monkeypatch):
    for var, value in {**REMOTE_ENV, "RETAIL_PROFILE": "docker"}.items():
        if var != "RETAIL_SPARK_DRIVER_HOST":
            monkeypatch.setenv(var, value)

    assert Settings().spark_driver_host == "127.0.0.1"


def test_secret_is_not_printed(monkeypatch):
    for var, value in {**REMOTE_ENV, "RETAIL_PROFILE": "docker"}.items():
        monkeypatch.setenv(var, value)

    assert "s3cret" not in repr(Settings())


CANARY = "canary-7f3a-do-not-print"


@pytest.fixture
def canary_cluster(monkeypatch):
    """The cluster profile's variables in this process's environment, every secret among them the canary."""
    cluster_env = {
        **REMOTE_ENV,
        "RETAIL_PROFILE": "cluster",
        "RETAIL_CASSANDRA_PASSWORD": CANARY,
        "RETAIL_KAFKA_SECURITY__PROTOCOL": "SASL_SSL",
        "RETAIL_KAFKA_SECURITY__SASL_USERNAME": "retail",
        "RETAIL_KAFKA_SECURITY__SASL_PASSWORD": CANARY,
    }
    for var, value in cluster_env.items():
        monkeypatch.setenv(var, value)
    return cluster_env


def test_a_canary_secret_reaches_the_clients_but_no_printed_or_stored_form(canary_cluster, caplog):
    import logging
    from functools import partial

    from retail.cassandra import CassandraTarget
    from retail.connections import _kafka

    caplog.set_level(logging.DEBUG)
    settings = Settings()
    target = CassandraTarget.from_settings(settings)
    logging.getLogger("retail").info("settings %s, target %s", settings, target)

    assert target.password == CANARY and _kafka(settings, {})["sasl.password"] == CANARY  # the clients get it
    printed = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),  # what a Prefect flow run keeps of its parameters
        repr(target),
        repr(partial(print, target=target)),  # the string form of a Spark closure that carries the target
        caplog.text,
    ]
    assert not [text for text in printed if CANARY in text]


def test_a_canary_secret_never_reaches_a_flow_run(canary_cluster):
    """`retail pipeline`'s flow run, read back from a real (throwaway) Prefect server: Prefect stores its parameters
    and job variables in plain text, so no secret may be among them; the rest of the settings travel."""
    import os

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.testing.utilities import prefect_test_harness
    from prefect.workers.process import ProcessWorker

    from retail.cli.pipeline import start_run

    parameters = {"count": 10, "csv_count": 5, "bad_fraction": 0.05, "producers": 1}
    with prefect_test_harness(server_startup_timeout=120), get_client(sync_client=True) as client:
        template = ProcessWorker.get_default_base_job_template()
        client.create_work_pool(WorkPoolCreate(name="canary-pool", type="process", base_job_template=template))
        deployment_id = client.create_deployment(
            client.create_flow_from_name("retail-pipeline"), "daily", work_pool_name="canary-pool"
        )
        created = start_run(client, deployment_id, parameters, os.environ)
        stored = client.read_flow_run(created.id)

    env = stored.job_variables["env"]
    assert env["RETAIL_PROFILE"] == "cluster" and env["RETAIL_KAFKA_SECURITY__SASL_USERNAME"] == "retail"
    assert "RETAIL_CASSANDRA_PASSWORD" not in env and "RETAIL_KAFKA_SECURITY__SASL_PASSWORD" not in env
    assert stored.parameters == parameters
    assert CANARY not in stored.model_dump_json()


@pytest.mark.parametrize(
    ("variable", "travels"),
    [
        ("RETAIL_PROFILE", True),
        ("RETAIL_KAFKA_SECURITY__SASL_USERNAME", True),
        ("RETAIL_STACK__KAFKA_PORT", True),
        ("RETAIL_STACK", True),  # a nested model without a secret, set whole as JSON
        ("RETAIL_CASSANDRA_PASSWORD", False),
        ("retail_cassandra_password", False),  # settings read variables whatever their case
        ("RETAIL_KAFKA_SECURITY__SASL_PASSWORD", False),
        ("RETAIL_KAFKA_SECURITY", False),  # the JSON form of a model holding a secret
        ("RETAIL_SUPERSET_ADMIN_PASSWORD", False),  # no setting reads it
        ("PATH", False),
    ],
)
def test_only_settings_without_a_secret_are_shareable(variable, travels):
    from retail.settings import shareable_variables

    assert (variable in shareable_variables({variable: CANARY})) is travels


def test_kafka_security_reaches_librdkafka_and_sparks_java_client(monkeypatch):
    monkeypatch.setenv("RETAIL_KAFKA_SECURITY__PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("RETAIL_KAFKA_SECURITY__SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("RETAIL_KAFKA_SECURITY__SASL_USERNAME", "retail")
    monkeypatch.setenv("RETAIL_KAFKA_SECURITY__SASL_PASSWORD", 'pa"ss')
    monkeypatch.setenv("RETAIL_KAFKA_SECURITY__CA_FILE", "/etc/retail/kafka-ca.pem")
    security = Settings().kafka_security

    assert security.librdkafka() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "retail",
        "sasl.password": 'pa"ss',
        "ssl.ca.location": "/etc/retail/kafka-ca.pem",
    }
    spark = security.spark_options()
    assert spark["kafka.security.protocol"] == "SASL_SSL" and spark["kafka.sasl.mechanism"] == "SCRAM-SHA-256"
    assert spark["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="retail" password="pa\\"ss";'
    )
    assert spark["kafka.ssl.truststore.location"] == "/etc/retail/kafka-ca.pem"
    assert Settings(kafka_security={"protocol": "PLAINTEXT"}).kafka_security.spark_options() == {
        "kafka.security.protocol": "PLAINTEXT"
    }


def test_sasl_without_a_login_says_which_variables_to_set(monkeypatch):
    monkeypatch.setenv("RETAIL_KAFKA_SECURITY__PROTOCOL", "SASL_PLAINTEXT")

    with pytest.raises(ValidationError, match="RETAIL_KAFKA_SECURITY__SASL_USERNAME"):
        Settings()


def test_cassandra_tls_is_on_when_a_ca_is_given():
    import ssl

    import certifi

    from retail.cassandra import CassandraTarget

    cluster = CassandraTarget.from_settings(Settings(cassandra_ca_file=certifi.where())).connect()

    assert cluster.ssl_context is not None and cluster.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert CassandraTarget.from_settings(Settings()).connect().ssl_context is None
