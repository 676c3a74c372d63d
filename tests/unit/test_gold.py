"""Gold publishing without services: one build at a time, and readers see a whole build or the previous one."""

import fcntl

import pytest

from retail.gold import GoldError, _prune, _publish, build_gold, current
from retail.settings import Settings


@pytest.fixture
def settings(tmp_path):
    for entity in ("customers", "purchases", "clickstream"):
        (tmp_path / "lake" / "silver" / entity).mkdir(parents=True)
    return Settings(gold_source="local", local_lake_path=tmp_path / "lake", gold_path=tmp_path / "gold")


def test_a_second_build_is_refused_while_one_runs(settings):
    settings.gold_path.mkdir()
    with (settings.gold_path / ".build.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("pid 4242 since now")
        held.flush()

        with pytest.raises(GoldError, match=r"another gold build holds .*pid 4242"):
            build_gold(settings, wait_s=0.2)


def test_missing_silver_is_named(settings):
    (settings.local_lake_path / "silver" / "purchases").rmdir()

    with pytest.raises(GoldError, match="no silver purchases"):
        build_gold(settings)


def test_nothing_published_yet_says_what_to_run(settings):
    with pytest.raises(GoldError, match="retail gold build"):
        current(settings)


def test_publishing_swaps_current_and_prunes_only_old_builds(settings):
    builds = settings.gold_path / "builds"
    folders = [builds / f"2026010{i}T000000Z-aaaaaa" for i in range(1, 5)]
    for folder in folders:
        folder.mkdir(parents=True)
        (folder / "warehouse.duckdb").write_text(folder.name)

    _publish(settings.gold_path, folders[1])
    reader = (settings.gold_path / "current" / "warehouse.duckdb").open()  # a reader of the old build
    _publish(settings.gold_path, folders[2])
    _prune(settings.gold_path, keep=2)

    assert current(settings) == folders[2]
    assert reader.read() == folders[1].name  # still readable: the rename never touched its file
    assert sorted(p.name for p in builds.iterdir()) == [folders[2].name, folders[3].name]
