"""What a catch-up says it streamed: its own rows, or that the live stream took the records."""

import pytest

from flows.stream import what_streamed


@pytest.mark.parametrize(
    ("result", "line"),
    [
        ({"mode": "catch-up", "batches": 3, "rows": 4500}, "4,500 rows streamed in 3 micro-batches"),
        ({"mode": "catch-up", "batches": 1, "rows": 10}, "10 rows streamed in 1 micro-batch"),
        (
            {"mode": "live", "batches": 2, "rows": 0, "waiting": 1200},
            "the live stream took the records (1,200 waiting when this step began; 2 micro-batches committed while "
            "it waited)",
        ),
    ],
)
def test_a_catch_up_says_what_it_streamed_or_that_the_live_stream_took_the_records(result, line):
    assert what_streamed(result) == line
