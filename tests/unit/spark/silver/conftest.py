import threading

import pytest

from spark.hdfs import Lake


class Stalling:
    """The lake as one writer sees it, which can stall it (a GC pause, a frozen VM, an HDFS client that hangs):
    while ``running`` is clear, its reads and writes wait."""

    def __init__(self, lake: Lake) -> None:
        self.lake, self.running = lake, threading.Event()
        self.running.set()

    def __getattr__(self, name):
        call = getattr(self.lake, name)

        def waiting(*args, **kwargs):
            self.running.wait()
            return call(*args, **kwargs)

        return waiting


@pytest.fixture
def stalling(spark) -> Stalling:
    """A lake whose reads and writes a test can stall."""
    return Stalling(Lake(spark))
