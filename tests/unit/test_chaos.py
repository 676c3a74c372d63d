"""What a chaos trial leaves behind, without the stack: only a clean trial removes its data."""

from pathlib import Path

import pytest

from retail import scratch
from retail.chaos import Outcome, Reconciliation, tidy_up
from retail.settings import Settings

CLEAN = Reconciliation()


@pytest.mark.parametrize(
    ("layers", "removed"),
    [
        ({"bronze": CLEAN, "silver": CLEAN, "cassandra": CLEAN}, True),
        ({"bronze": CLEAN, "silver": Reconciliation(lost=1), "cassandra": CLEAN}, False),
        ({"bronze": Reconciliation(duplicated=2), "silver": CLEAN, "cassandra": CLEAN}, False),
        ({"bronze": CLEAN, "silver": CLEAN, "cassandra": Reconciliation(phantom=1)}, False),
        ({}, False),  # nothing reconciled proves nothing
    ],
)
def test_only_a_trial_that_reconciled_clean_removes_its_data(layers, removed):
    trial = scratch.of(Settings(), "chaos1a2b3c4d", "/chaos")
    outcome = Outcome("kafka-kill", 1, layers=layers)
    removals: list[list[Settings]] = []

    tidy_up(outcome, trial, Path("/tmp/chaos/1a2b3c4d"), remove=removals.append)

    assert (removals == [[trial]]) is removed
    if removed:
        assert outcome.kept is None
    else:
        assert "topics chaos1a2b3c4d-*" in outcome.kept and "keyspace chaos1a2b3c4d" in outcome.kept
        assert "/chaos/chaos1a2b3c4d" in outcome.kept and "/tmp/chaos/1a2b3c4d" in outcome.kept
