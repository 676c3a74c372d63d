"""The silver writer's lease on a real Hadoop filesystem (a local folder): one holder at a time, a second writer
waits then is refused with the holder named, and the lease of a holder that died expires."""

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

    with pytest.raises(LeaseLostError, match="could not renew the silver lease"), lease.held("batch a"):
        monkeypatch.setattr(lease.lake, "write_text", failing)
        time.sleep(lease.ttl_s + 1.5)
    monkeypatch.setattr(lease.lake, "write_text", writes)


def test_a_renewal_that_fails_once_is_tried_again_and_the_batch_goes_on(lease, monkeypatch):
    writes, failed = lease.lake.write_text, []

    def once(uri, text):
        if not failed:
            failed.append(uri)
            raise OSError("DataNode restarting")
        writes(uri, text)

    monkeypatch.setattr(lease.lake, "write_text", once)
    with lease.held("batch a"):
        time.sleep(lease.ttl_s + 1.0)  # longer than the lease: only renewals after the failure kept it

    assert failed and lease.holder() is None


def test_a_lease_file_nobody_can_read_is_taken_over_after_the_lease_time(lease):
    lease.lake.write_text(lease.uri, "")  # a renewal that died half-written

    began = time.monotonic()
    with lease.held("next batch", wait_s=30):
        assert "next batch" in lease.holder()["writer"]
    assert time.monotonic() - began >= lease.ttl_s
