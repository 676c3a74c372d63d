"""The test stack's ``auto`` choice on a real engine: native where no engine answers, and where one does, the images
that are missing are built (then the suite runs on containers of them)."""

import pytest

from retail.containers.engine import find_engine
from retail.containers.images import build_images, load_images
from retail.settings import Settings
from tests.integration.conftest import choose_provider

pytestmark = pytest.mark.integration


def test_auto_takes_the_native_stack_where_no_engine_answers(stack_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'nobody.sock'}")
    # a cache folder with no engine of the project's in it
    elsewhere = stack_settings.stack.model_copy(update={"cache_dir": tmp_path / "cache"})
    assert choose_provider(stack_settings.model_copy(update={"stack": elsewhere})) == "native"


def test_auto_builds_a_missing_image_where_an_engine_answers(stack_settings: Settings):
    engine = find_engine(stack_settings)
    if engine is None:
        pytest.skip("no Docker engine answers here (./run test starts the project's own where it can)")
    base, services = load_images(stack_settings)
    kafka = next(s for s in services if s.name == "kafka")
    client = engine.client()
    try:
        build_images(engine, stack_settings, ["kafka"], report=lambda _: None)
        client.images.remove(kafka.tag(base), force=True)  # a running container keeps its image by id

        assert choose_provider(stack_settings) == "docker"

        again = build_images(engine, stack_settings, ["kafka"], report=lambda _: None)
        assert [(b.name, b.built) for b in again] == [("base", False), ("kafka", False)]  # it was built back
        assert client.images.get(kafka.tag(base)).attrs["Size"] > 0
    finally:
        client.close()
