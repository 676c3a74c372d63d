"""The silver writer's lease on a real Hadoop filesystem (a local folder): one holder at a time, a second writer
waits then is refused with the holder named, the lease of a holder that died expires, and a holder that stalled past
the lease time can never commit (the fence)."""

import json
import threading
import time

import pytest

from spark.hdfs import Lake
from spark.silver.lease import Lease, LeaseLostError, SilverBusyError


@pytest.fixture
def lease(spark, tmp_path) -> Lease:
    return Lease(Lake(spark), tmp_path.as_uri(), ttl_s=3.0, renew_s=0.5)


def test_a_second_writer_waits_for_the_first(lease):
    order = []

    def first():
        with lease.held("batch a"):
            order.append("a starts")
            time.sleep(2.0)  # longer than one renewal: the lease is kept while the batch works
            order.append("a ends")

    writer = threading.Thread(target=first)
    writer.start()
    while not order:
        time.sleep(0.05)
    with lease.held("batch b", wait_s=60):
        order.append("b")
    writer.join()

    assert order == ["a starts", "a ends", "b"]
    assert lease.holder() is None  # released


def test_a_writer_that_waited_too_long_is_refused_with_the_holder_named(lease):
    with (
        lease.held("silver batch 3f2a-17"),
        pytest.raises(SilverBusyError, match=r"silver batch 3f2a-17 \(pid"),
        lease.held("csv file", wait_s=1.0),
    ):
        pass


def test_the_lease_of_a_holder_that_died_expires(lease):
    dead = {"token": "t", "writer": "silver batch x (pid 1 on h)", "since": "2026-01-01", "expires_at": time.time() + 1}
    lease.lake.write_text(lease.uri, json.dumps(dead))  # as a killed holder leaves it: nobody renews it

    began = time.monotonic()
    with lease.held("next batch", wait_s=30):
        assert "next batch" in lease.holder()["writer"]
    assert time.monotonic() - began >= 0.5


def test_a_holder_that_cannot_renew_for_longer_than_the_lease_fails_its_batch(lease, monkeypatch):
    """As when the only DataNode is gone: renewals fail; after the lease's life the batch may not be committed."""
    writes = lease.lake.write_text

    def failing(uri, text):
        raise OSError("could only be written to 0 of the 1 minReplication nodes")

    with pytest.raises(LeaseLostError, match="without a renewal"), lease.held("batch a") as holding:
        monkeypatch.setattr(lease.lake, "write_text", failing)
        time.sleep(lease.ttl_s + 1.5)
        holding.check()  # the batch's commit step
    monkeypatch.setattr(lease.lake, "write_text", writes)


def test_a_renewal_that_fails_once_is_tried_again_and_the_batch_goes_on(lease, monkeypatch):
    writes, failed = lease.lake.write_text, []

    def once(uri, text):
        if not failed:
            failed.append(uri)
            raise OSError("DataNode restarting")
        writes(uri, text)

    monkeypatch.setattr(lease.lake, "write_text", once)
    with lease.held("batch a") as holding:
        time.sleep(lease.ttl_s + 1.0)  # longer than the lease: only renewals after the failure kept it
        holding.check()

    assert failed and lease.holder() is None


def test_a_lease_file_nobody_can_read_is_taken_over_after_the_lease_time(lease):
    lease.lake.write_text(lease.uri, "")  # a renewal that died half-written

    began = time.monotonic()
    with lease.held("next batch", wait_s=30):
        assert "next batch" in lease.holder()["writer"]
    assert time.monotonic() - began >= lease.ttl_s


def test_a_holder_that_stalled_past_the_lease_time_never_commits_and_the_waiter_does(spark, tmp_path, stalling):
    first = Lease(stalling, tmp_path.as_uri(), ttl_s=3.0, renew_s=0.5)
    second = Lease(Lake(spark), tmp_path.as_uri(), ttl_s=3.0, renew_s=0.5)
    committed, failed, holding_a = [], [], threading.Event()

    def writer(lease: Lease, name: str, stall: bool) -> None:
        try:
            with lease.held(name, wait_s=60) as holding:
                holding_a.set()
                if stall:
                    stalling.running.clear()
                    time.sleep(lease.ttl_s * 2)  # the stall: no renewal gets through
                    stalling.running.set()
                    time.sleep(lease.renew_s * 3)  # its renewer wakes up and finds the other's token
                holding.check()
                committed.append(name)
        except LeaseLostError as err:
            failed.append((name, str(err)))

    a = threading.Thread(target=writer, args=(first, "batch a", True))
    a.start()
    holding_a.wait()
    b = threading.Thread(target=writer, args=(second, "batch b", False))
    b.start()
    a.join()
    b.join()

    assert committed == ["batch b"]
    assert [name for name, _ in failed] == ["batch a"]
    assert "this step is not committed" in failed[0][1]


def test_a_renewal_never_writes_over_another_writers_lease(lease):
    other = {"token": "other", "writer": "csv file (pid 2 on h)", "since": "2026-01-01", "expires_at": time.time() + 60}
    with pytest.raises(LeaseLostError, match=r"now names csv file"), lease.held("batch a") as holding:
        lease.lake.write_text(lease.uri, json.dumps(other))  # as a waiter that took the lease over leaves it
        time.sleep(lease.renew_s * 3)
        holding.check()

    assert lease.holder()["token"] == "other"  # neither renewed over nor released by the holder that lost it


def test_a_lease_the_filesystem_cannot_read_is_waited_on_never_taken_over(lease, monkeypatch):
    """An HDFS outage makes the lease file unreadable; that is not an absent or abandoned lease."""
    live = {
        "token": "t",
        "writer": "silver batch 7 (pid 3 on h)",
        "since": "2026-01-01",
        "expires_at": time.time() + 60,
    }
    lease.lake.write_text(lease.uri, json.dumps(live))

    def down(uri):
        raise OSError("could not read: Connection refused")

    monkeypatch.setattr(lease.lake, "read_text", down)
    with pytest.raises(SilverBusyError), lease.held("next batch", wait_s=lease.ttl_s + 1.0):
        pass
    monkeypatch.undo()

    assert lease.holder()["token"] == "t"


def test_the_lake_says_a_missing_file_is_missing_and_other_failures_are_errors(spark, tmp_path):
    lake = Lake(spark)
    with pytest.raises(FileNotFoundError):
        lake.read_text((tmp_path / "none").as_uri())
    with pytest.raises(OSError, match="could not read") as raised:
        lake.read_text("hdfs://127.0.0.1:1/lease")  # nothing listens there: the filesystem cannot say
    assert not isinstance(raised.value, FileNotFoundError)
