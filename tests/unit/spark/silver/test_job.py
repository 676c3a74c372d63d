"""Silver's job on a local Hadoop filesystem: two writers where one stalls past the lease time while the other waits
(exactly one commits each time, the one that lost replays, and every event lands once), and a batch whose outputs
wrote other than its judgement decided fails before it is marked done."""

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pyspark.sql.functions as F
import pytest

import spark.silver.job as silver_job
from retail.generator import GeneratorConfig, generate
from retail.lake import BATCH_COUNTS, QUARANTINE, RELEASED, SILVER, LakeLayout
from spark.hdfs import DRIVER_FILE, Lake, file_partitions
from spark.silver.job import SilverTargets, SilverWriter, recorded_counts
from spark.silver.lease import Lease, LeaseLostError

BRONZE = (
    "entity string, value binary, topic string, partition int, offset long, kafka_timestamp timestamp, "
    "ingested_at timestamp, batch_id string"
)


def bronze(spark, seed: int, count: int, batch_id: str):
    now = datetime.now(UTC)
    records = generate(GeneratorConfig(seed=seed, bad_fraction=0.05, start=now - timedelta(days=10)))
    rows = [
        (r.entity, r.value, f"t-{r.entity}", 0, seed * 1_000_000 + i, now, now, batch_id)
        for i, r in enumerate(itertools.islice(records, count))
    ]
    return spark.createDataFrame(rows, BRONZE)


def silver_ids(spark, targets: SilverTargets) -> list[str]:
    frames = [
        spark.read.parquet(targets.silver(e)).select("event_id")
        for e in ("customers", "purchases", "clickstream")
        if Lake(spark).exists(targets.silver(e))
    ]
    return [r.event_id for f in frames for r in f.collect()]


@pytest.fixture
def targets(tmp_path) -> SilverTargets:
    return SilverTargets.under(LakeLayout(tmp_path.as_uri()))


def fenced_job(spark, targets, lake=None) -> SilverWriter:
    job = SilverWriter(spark, targets)
    job.lease = Lease(lake or job.lake, targets.state_root, ttl_s=4.0, renew_s=0.5)
    return job


def test_a_writer_that_stalled_past_the_lease_never_commits_and_replays_after_the_one_that_took_over(
    spark, targets, stalling, monkeypatch
):
    """Writer A stalls (its lake and its renewals frozen) between judging its batch and committing it; writer B,
    waiting, takes the expired lease and commits. A must fail its batch, then replay it: each event lands once."""
    a, b = fenced_job(spark, targets, stalling), fenced_job(spark, targets)
    judge, b_may_start = silver_job.judge, threading.Event()

    def stalled_judge(keys, state, entities):
        judgement = judge(keys, state, entities)
        if threading.current_thread().name == "writer a" and not b_may_start.is_set():
            stalling.running.clear()
            b_may_start.set()
            time.sleep(a.lease.ttl_s * 3)  # B takes the expired lease and commits meanwhile
            stalling.running.set()
        return judgement

    monkeypatch.setattr(silver_job, "judge", stalled_judge)
    batch_a, batch_b = bronze(spark, 1, 300, "a"), bronze(spark, 2, 300, "b")
    outcome = {}

    def run(name: str, job: SilverWriter, batch, batch_id: str) -> None:
        try:
            outcome[name] = job.process(batch, batch_id)
        except LeaseLostError as err:
            outcome[name] = err

    writer_a = threading.Thread(target=run, args=("a", a, batch_a, "a"), name="writer a")
    writer_a.start()
    b_may_start.wait()
    run("b", b, batch_b, "b")
    writer_a.join()

    assert isinstance(outcome["a"], LeaseLostError)  # the writer that stalled never commits
    assert recorded_counts(spark, targets, "a") == {}  # nothing of A's batch was marked done
    state_files = Lake(spark).names(targets.state_root)
    assert [n for n in state_files if n.endswith("-a.parquet")] == []  # and it added nothing to the state
    # B commits, unless the stall caught A inside a renewal's write, which then lands over B's lease: B fails too
    # (never two commits; the lease's stated limit), and replays like A.
    if isinstance(outcome["b"], LeaseLostError):
        outcome["b"] = b.process(batch_b, "b")
    replayed = a.process(batch_a, "a")  # the stream replays the batch that failed

    assert recorded_counts(spark, targets, "a") == replayed
    assert recorded_counts(spark, targets, "b") == outcome["b"]
    ids = silver_ids(spark, targets)
    assert len(ids) == len(set(ids))
    assert len(ids) == sum(c["silver"] for c in replayed.values()) + sum(c["silver"] for c in outcome["b"].values())


def test_a_batch_whose_outputs_lost_rows_fails_before_it_is_marked_done(spark, targets, monkeypatch):
    """The reconciliation compares what was written with what was decided: a transform that drops a row (here, one
    silver purchase) fails the batch, which a restated identity of the judge's own counts could never do."""
    clean = silver_job.clean

    def lossy(frame, contract):
        cleaned = clean(frame, contract)
        if contract.entity != "purchases":
            return cleaned
        first = cleaned.select(F.min("event_id")).first()[0]
        return cleaned.where(F.col("event_id") != first)

    monkeypatch.setattr(silver_job, "clean", lossy)
    with pytest.raises(RuntimeError, match=r"purchases silver: decided (\d+), wrote \d+"):
        fenced_job(spark, targets).process(bronze(spark, 3, 400, "c"), "c")

    assert recorded_counts(spark, targets, "c") == {}


@pytest.mark.parametrize(("rows", "slots", "partitions"), [(0, 13, 1), (600, 13, 1), (20_001, 13, 2), (10**7, 13, 13)])
def test_a_batch_takes_one_partition_per_rows_per_file_within_the_slots(rows, slots, partitions):
    assert file_partitions(rows, slots) == partitions


def test_a_batch_sized_to_one_partition_writes_one_file_per_partition_folder(spark, targets):
    """Each task of an output writes a file into every partition folder it has rows of: a small batch sized to one
    partition leaves one file per folder, however many partitions its source came in."""
    batch = bronze(spark, 4, 600, "d").repartition(5)
    counts = fenced_job(spark, targets).process(batch, "d", partitions=1)

    lake = Lake(spark)
    folders = [f for e in counts for f in lake.glob(f"{targets.silver(e)}/*=*/batch_id=d")]
    folders += lake.glob(f"{targets.lake.path(QUARANTINE)}/entity=*/batch_id=d")
    assert folders  # silver of every entity and the quarantine wrote something
    for folder in folders:
        assert len([n for n in lake.names(folder) if n.endswith(".parquet")]) == 1, folder


def _held(spark, targets: SilverTargets) -> dict[str, list[dict]]:
    """Returns every row of every output dataset of ``targets``, by dataset, in a stable order."""
    lake, held = Lake(spark), {}
    for dataset in (*SILVER.values(), QUARANTINE, RELEASED, BATCH_COUNTS):
        if lake.exists(targets.lake.path(dataset)):
            frame = spark.read.parquet(targets.lake.path(dataset)).drop("recorded_at")
            held[dataset.name] = sorted((r.asDict(recursive=True) for r in frame.collect()), key=repr)
    return held


def test_a_batch_on_the_driver_writes_what_the_executors_write(spark, tmp_path):
    """A batch small enough for the driver is judged and written there in one Spark job; its outputs (silver of
    every entity, the quarantine with its reasons, purchases released when their customers come, the counts) hold
    exactly what Spark's executors write for the same batches, column for column, and a replay on the driver of a
    batch the executors wrote replaces it."""
    records = list(itertools.islice(generate(GeneratorConfig(seed=5, bad_fraction=0.1)), 900))
    now = datetime.now(UTC)

    def batch(entities: set[str], batch_id: str):
        rows = [
            (r.entity, r.value, f"t-{r.entity}", 0, i, now, now, batch_id)
            for i, r in enumerate(records)
            if r.entity in entities
        ]
        return spark.createDataFrame(rows, BRONZE), len(rows)

    held = {}
    for path, rows_of in (("executors", lambda n: None), ("driver", lambda n: n)):
        targets = SilverTargets.under(LakeLayout((tmp_path / path).as_uri()))
        job = SilverWriter(spark, targets)
        waiting, n = batch({"purchases", "clickstream"}, "p")  # purchases before their customers: they wait
        first = job.process(waiting, "p", rows=rows_of(n))
        customers, n = batch({"customers"}, "c")  # and are released with them
        second = job.process(customers, "c", rows=rows_of(n))
        held[path] = _held(spark, targets)
        assert first["purchases"]["quarantined"] > 0 and second["purchases"]["released"] > 0

    driver_files = Lake(spark).glob(f"{(tmp_path / 'driver').as_uri()}/silver/*/*=*/batch_id=*/*.parquet")
    assert driver_files and all(f.endswith(DRIVER_FILE) for f in driver_files)  # the driver wrote them
    assert set(held["driver"]) == {*(d.name for d in SILVER.values()), QUARANTINE.name, RELEASED.name, "batch_counts"}
    for dataset, rows in held["executors"].items():
        assert held["driver"][dataset] == rows, dataset

    replayed = SilverWriter(spark, SilverTargets.under(LakeLayout((tmp_path / "executors").as_uri())))
    again, n = batch({"customers"}, "c")
    replayed.process(again, "c", rows=n)
    assert _held(spark, SilverTargets.under(LakeLayout((tmp_path / "executors").as_uri()))) == held["driver"]
