"""A trivial flow that proves the Prefect server (and, when deployed, the worker) end to end."""

from prefect import flow, task


@task
def add(a: int, b: int) -> int:
    """Returns the sum (a task the smoke flow runs on the worker)."""
    return a + b


@flow(name="stack-smoke")
def smoke_flow(a: int = 20, b: int = 22) -> int:
    """Returns a + b, computed in a task so the run records a task run too."""
    return add(a, b)


if __name__ == "__main__":
    smoke_flow()
