"""The pipeline's catch-up when the live stream holds the stream slot: it waits for the live stream and says what
the live stream took, never counting the records as streamed by itself."""

from datetime import UTC, datetime

import pytest

import retail.stream_status
from flows.tasks import _wait_for_live_stream
from retail.settings import Settings
from retail.stream_status import StreamStatus


def statuses(*looks: tuple[int | None, int]) -> list[StreamStatus]:
    """Returns what the stream status says at each look: (last committed batch, records not read yet)."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return [StreamStatus(batch, None if batch is None else at, {"purchases": lag}) for batch, lag in looks]


@pytest.mark.parametrize(
    ("looks", "batches", "waiting"),
    [
        ([(7, 1200), (8, 700), (9, 0)], 2, 1200),  # two micro-batches of the live stream took the 1,200
        ([(None, 300), (0, 0)], 1, 300),  # the stream's very first batch (id 0) took them
        ([(4, 0), (4, 0)], 0, 0),  # nothing waited
    ],
)
def test_waiting_for_the_live_stream_streams_no_row_itself(monkeypatch, looks, batches, waiting):
    seen = iter(statuses(*looks))
    monkeypatch.setattr(retail.stream_status, "stream_status", lambda settings: next(seen))

    result = _wait_for_live_stream(Settings(), deadline_s=60, poll_s=0)

    assert result == {"mode": "live", "batches": batches, "rows": 0, "waiting": waiting}


def test_a_slot_held_by_another_lakes_stream_is_named_not_waited_for(monkeypatch):
    monkeypatch.setattr(retail.stream_status, "stream_status", lambda settings: statuses((3, 500))[0])

    with pytest.raises(RuntimeError, match="streams another lake or is stuck"):
        _wait_for_live_stream(Settings(), deadline_s=60, stall_s=0, poll_s=0)
