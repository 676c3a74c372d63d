"""The smoke run's Cassandra verdict, without Cassandra: it passes only on every row it wrote, read back as written."""

import pytest

from retail.smoke import rows_read_back

WRITTEN = {"a1": "value-0", "b2": "value-1"}


def test_every_row_read_back_passes():
    assert rows_read_back(WRITTEN, dict(WRITTEN)) == "wrote and read back 2 rows"


@pytest.mark.parametrize(
    ("written", "read"),
    [
        (WRITTEN, {}),  # an empty read proves nothing
        (WRITTEN, {"a1": "value-0"}),
        (WRITTEN, {"a1": "value-0", "b2": "other"}),
        (WRITTEN, {**WRITTEN, "c3": "value-9"}),
        ({}, {}),  # nothing written, nothing proved
    ],
)
def test_a_missing_different_or_extra_row_fails(written, read):
    with pytest.raises(RuntimeError, match=f"wrote {len(written)} rows, read back {len(read)}"):
        rows_read_back(written, read)
