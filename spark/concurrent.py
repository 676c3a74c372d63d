"""Spark jobs submitted side by side from the driver. A micro-batch writes several outputs whose cost is mostly fixed
(planning, task launch, the commit's renames on the NameNode, Cassandra round trips) rather than CPU, so running
them at once overlaps their waits; Spark schedules the jobs' tasks fairly within the caller's pool."""

from __future__ import annotations

from collections.abc import Callable

from pyspark import InheritableThread


def run_all(*tasks: Callable[[], None]) -> None:
    """Runs every task in a thread of its own (local properties such as the scheduler pool inherited) and waits for
    all of them; raises the first failure once every task has ended, so no write is left running behind an error."""
    if len(tasks) <= 1:
        for task in tasks:
            task()
        return
    failures: list[BaseException] = []

    def guarded(task: Callable[[], None]) -> None:
        try:
            task()
        except Exception as error:  # noqa: BLE001 (re-raised on the caller's thread below)
            failures.append(error)

    threads = [InheritableThread(target=guarded, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
