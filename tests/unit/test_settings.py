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
    ],
)
def test_remote_profile_names_what_is_missing(monkeypatch, missing, named):
    for var, value in {**REMOTE_ENV, "RETAIL_PROFILE": "cluster"}.items():
        if var != missing:
            monkeypatch.setenv(var, value)

    with pytest.raises(ValidationError, match=named):
        Settings()


def test_secret_is_not_printed(monkeypatch):
    for var, value in {**REMOTE_ENV, "RETAIL_PROFILE": "docker"}.items():
        monkeypatch.setenv(var, value)

    assert "s3cret" not in repr(Settings())
