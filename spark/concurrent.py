"""Spark jobs submitted side by side from the driver. A micro-batch writes several independent outputs, each with
fixed waits (planning, task launch, the commit's renames on the NameNode, Cassandra round trips); running them at
once overlaps those waits, and Spark schedules the jobs' tasks fairly within the caller's pool. It adds no CPU:
measured on two busy cores, a CPU-bound batch took as long either way (benchmarks/realtime.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pyspark import InheritableThread, SparkContext


def run_all(tasks: Mapping[str, Callable[[], None]]) -> None:
    """Runs every task in a thread of its own, its Spark jobs described by the task's name in the Spark UI (other
    local properties, such as the scheduler pool, inherited) and waits for all of them; raises the first failure
    once every task has ended, so no write is left running behind an error."""
    failures: list[Exception] = []

    def described(name: str, task: Callable[[], None]) -> None:
        try:
            SparkContext.getOrCreate().setJobDescription(name)
            task()
        except Exception as error:  # noqa: BLE001 (re-raised on the caller's thread below)
            failures.append(error)

    threads = [InheritableThread(target=described, args=item) for item in tasks.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
