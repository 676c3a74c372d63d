"""Side-by-side tasks: every failure is named in the one error raised, after every task ended."""

import logging
import threading
import traceback

import pytest

from spark.concurrent import run_all


class LostLease(RuntimeError):
    pass


def fails(error: Exception):
    def task() -> None:
        raise error

    return task


def test_every_failure_is_named_in_the_error_and_logged(spark, caplog):
    ended = threading.Event()
    tasks = {
        "silver purchases": fails(LostLease("another writer committed")),
        "silver customers": lambda: None,
        "quarantine": fails(ValueError("bad column")),
        "cassandra": ended.set,
    }

    with caplog.at_level(logging.ERROR, logger="spark.concurrent"), pytest.raises(LostLease) as raised:
        run_all(tasks)

    message = "".join(traceback.format_exception(raised.value))  # what a stream's failure message shows
    assert "another writer committed" in message
    assert "2 of 4 tasks failed: silver purchases, quarantine" in message
    assert "quarantine failed too: ValueError: bad column" in message
    assert ended.is_set()  # the others ran to their end before the error was raised
    assert {r.getMessage() for r in caplog.records} == {"silver purchases failed", "quarantine failed"}
    assert all(r.exc_info for r in caplog.records)


def test_tasks_that_all_succeed_raise_nothing(spark):
    done = []

    run_all({"a": lambda: done.append("a"), "b": lambda: done.append("b")})

    assert sorted(done) == ["a", "b"]
