import pyspark
import pytest

from retail.stack.artifacts import ArtifactGroup, fetch, load_groups
from retail.stack.errors import StackError
from retail.stack.jvm import _compiled


def test_groups_cover_every_jvm_service_and_pin_the_connector_to_spark(tmp_path):
    groups = load_groups(tmp_path)

    assert set(groups) == {"kafka", "hadoop", "cassandra", "spark-kafka", "cassandra-java-driver"}
    assert groups["spark-kafka"].coordinates == (f"org.apache.spark:spark-sql-kafka-0-10_2.13:{pyspark.__version__}",)
    assert all(g.lib.is_relative_to(tmp_path) for g in groups.values())


def test_the_fresh_paths_driver_brings_none_of_the_libraries_spark_has(tmp_path):
    driver = load_groups(tmp_path)["cassandra-java-driver"]

    assert "java-driver-core" in driver.keep
    assert not [k for k in driver.keep if k.startswith(("netty", "jackson", "slf4j", "metrics"))]


def test_the_kept_jars_are_part_of_the_cache_folders_name(tmp_path):
    a = ArtifactGroup("d", "1", ("g:a:1",), tmp_path)
    b = ArtifactGroup("d", "1", ("g:a:1",), tmp_path, keep=("a",))

    assert a.lib != b.lib


def test_missing_javac_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(StackError, match=r"apt-get install openjdk-17-jdk-headless"):
        _compiled(tmp_path, ())


def test_cache_folder_changes_with_the_coordinates(tmp_path):
    a = ArtifactGroup("kafka", "1", ("g:a:1",), tmp_path)
    b = ArtifactGroup("kafka", "1", ("g:a:1", "g:b:2"), tmp_path)

    assert a.lib != b.lib


def test_missing_maven_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    group = ArtifactGroup("kafka", "4.1.1", ("org.apache.kafka:kafka_2.13:4.1.1",), tmp_path)

    with pytest.raises(StackError, match=r"apt-get install maven"):
        fetch(group)
