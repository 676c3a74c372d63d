"""Spark jobs submitted side by side from the driver. A micro-batch writes several independent outputs, each with
fixed waits (planning, task launch, the commit's renames on the NameNode, Cassandra round trips); running them at
once overlaps those waits, and Spark schedules the jobs' tasks fairly within the caller's pool. It adds no CPU:
measured on two busy cores, a CPU-bound batch took as long either way (benchmarks/realtime.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from pyspark import InheritableThread, SparkContext

log = logging.getLogger("spark.concurrent")


def run_all(tasks: Mapping[str, Callable[[], None]]) -> None:
    """Runs every task in a thread of its own, its Spark jobs described by the task's name in the Spark UI (other
    local properties, such as the scheduler pool, inherited) and waits for all of them. Once every task has ended
    (so no write is left running behind an error) it logs each failure and raises the first, of its own type, with a
    note naming every failed task and, for the others, their errors: a stream's failure message shows them all."""
    failures: dict[str, Exception] = {}

    def described(name: str, task: Callable[[], None]) -> None:
        try:
            SparkContext.getOrCreate().setJobDescription(name)
            task()
        except Exception as error:  # noqa: BLE001 (re-raised on the caller's thread below)
            failures[name] = error

    threads = [InheritableThread(target=described, args=item) for item in tasks.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not failures:
        return
    for name, error in failures.items():
        log.error("%s failed", name, exc_info=error)
    # In task order, not in the order the threads happened to fail: the same failures read the same every time.
    (first, error), *others = [(name, failures[name]) for name in tasks if name in failures]
    error.add_note(f"{len(failures)} of {len(tasks)} tasks failed: {', '.join(n for n in tasks if n in failures)}")
    error.add_note(f"{first} failed with the error above")
    for name, other in others:
        error.add_note(f"{name} failed too: {type(other).__name__}: {other}")
    raise error
