"""The silver writer's lease on a real Hadoop filesystem (a local folder): one holder at a time, a second writer
waits then is refused with the holder named, and the lease of a holder that died expires."""

import json
import threading
import time

import pytest

from spark.hdfs import Lake
from spark.silver.lease import Lease, SilverBusyError


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
