"""The container path's pure parts: the engine's own files, content-addressed image tags, and the docker runtime's
command line (the images and containers themselves are exercised by the integration suite on the docker runtime)."""

from dataclasses import replace

import pytest

from retail.containers import engine as engine_module
from retail.containers.engine import Engine, EngineLayout, ensure_engine, find_engine
from retail.containers.images import load_images
from retail.containers.runtime import IMAGE_LIB, IMAGE_SPARK_HOME, ContainerRuntime, docker_unusable
from retail.settings import Settings
from retail.stack.artifacts import SPARK_HOME
from retail.stack.errors import StackError
from retail.stack.services import build_services


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("RETAIL_STACK__HOME", str(tmp_path / "stack"))
    monkeypatch.setenv("RETAIL_STACK__CACHE_DIR", str(tmp_path / "cache"))  # where the project's engine would be
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'nobody.sock'}")  # no engine answers there
    return Settings()


def test_the_projects_engine_keeps_every_file_in_its_cache_folder_and_makes_no_default_bridge(settings):
    layout = EngineLayout.of(settings)
    command = layout.command("/usr/sbin/dockerd")
    cache = str(settings.stack.cache_dir / "docker")
    for flag in ("--host", "--data-root", "--exec-root", "--pidfile"):
        assert command[command.index(flag) + 1].removeprefix("unix://").startswith(cache)
    assert command[command.index("--bridge") + 1] == "none"


def test_no_engine_answers_when_neither_the_users_nor_the_projects_runs(settings):
    assert find_engine(settings) is None
    assert docker_unusable(settings) == "no Docker engine answers (`retail engine up` starts one)"


def test_without_dockerd_and_without_root_the_error_says_what_to_do(settings, monkeypatch):
    monkeypatch.setattr(engine_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(engine_module.os, "geteuid", lambda: 1000)
    with pytest.raises(StackError, match=r"start your engine, or install Debian's \(docker.io\)"):
        ensure_engine(settings, report=lambda _: None)


def test_an_image_tag_is_the_digest_of_what_goes_in(settings, tmp_path):
    base, services = load_images(settings)
    kafka = next(s for s in services if s.name == "kafka")
    assert kafka.tag(base) == kafka.tag(base)  # stable: a second build finds it
    assert replace(base, packages=(*base.packages, "curl")).tag != base.tag
    assert kafka.tag(replace(base, suite="trixie")) != kafka.tag(base)  # a new base, new service images

    dockerfile = tmp_path / "service.Dockerfile"
    dockerfile.write_text(kafka.dockerfile.read_text())
    same = replace(kafka, dockerfile=dockerfile)
    assert same.tag(base) == kafka.tag(base)
    dockerfile.write_text(kafka.dockerfile.read_text() + "LABEL changed=yes\n")
    assert same.tag(base) != kafka.tag(base)


def test_every_jvm_service_has_an_image_and_the_python_ones_run_as_processes(settings):
    _, services = load_images(settings)
    images = {s.name for s in services}
    by_name = {svc.name: svc for svc in build_services(settings)}
    assert {n for n, svc in by_name.items() if svc.image} == {
        "kafka",
        "namenode",
        "datanode",
        "cassandra",
        "spark-master",
        "spark-worker",
    }
    assert {svc.image for svc in by_name.values() if svc.image} <= images


def test_a_container_runs_the_native_command_with_the_images_jars_on_the_hosts_network(settings):
    runtime = ContainerRuntime(settings)
    runtime.__dict__["tags"] = {"kafka": "retail/kafka:abc", "spark": "retail/spark:def"}  # no engine needed
    services = {svc.name: svc for svc in build_services(settings)}
    kafka = services["kafka"]
    cwd = settings.stack.home / "kafka" / "data"

    command = runtime.command(kafka, cwd)

    lib = str(kafka.artifacts[0].lib)
    image = command.index("retail/kafka:abc")
    assert command[image + 1 :][:1] == ("java",)
    assert all(lib not in arg for arg in command)  # the jars are the image's
    assert f"{IMAGE_LIB}/*" in command
    assert command[command.index("--network") + 1] == "host"
    assert f"{settings.stack.home}:{settings.stack.home}" in command  # config, data and logs at the same paths
    assert runtime.name(kafka) in command and runtime.name(kafka).endswith("-kafka")
    assert runtime.fingerprint(kafka).endswith("retail/kafka:abc")

    worker = runtime.command(services["spark-worker"], cwd)
    assert f"SPARK_HOME={IMAGE_SPARK_HOME}" in worker
    assert all(str(SPARK_HOME) not in arg for arg in worker)
    assert any(arg.endswith(":ro") for arg in worker)  # the project and its Python, read-only, for the executors


def test_two_stack_homes_never_share_a_container(settings, tmp_path):
    other = settings.model_copy(update={"stack": settings.stack.model_copy(update={"home": tmp_path / "other"})})
    kafka = next(svc for svc in build_services(settings) if svc.name == "kafka")
    assert ContainerRuntime(settings).name(kafka) != ContainerRuntime(other).name(kafka)


def test_an_engine_says_whose_it_is():
    assert "yours" in Engine("unix:///var/run/docker.sock", "28.2", own=False).describe()
    assert "project's own" in Engine("unix:///x.sock", "20.10", own=True).describe()


def test_the_doctor_fails_the_docker_runtime_only_where_no_engine_can_start(settings, monkeypatch):
    from retail import doctor

    docker_runtime = settings.model_copy(update={"stack": settings.stack.model_copy(update={"runtime": "docker"})})
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    monkeypatch.setattr(doctor.os, "geteuid", lambda: 1000)
    finding = doctor._engine(docker_runtime)
    assert finding.verdict is doctor.Verdict.FAIL and "docker.io" in finding.fix
    assert doctor._engine(settings).verdict is doctor.Verdict.WARN  # the native runtime needs none

    monkeypatch.setattr(doctor.shutil, "which", lambda name: f"/usr/sbin/{name}")
    finding = doctor._engine(docker_runtime)
    assert finding.verdict is doctor.Verdict.WARN and "./run engine up" in finding.fix
