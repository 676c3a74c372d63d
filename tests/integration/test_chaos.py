"""Faults under load on the real stack, reconciled against the producer ledgers: nothing lost, doubled or made up in
bronze, silver or Cassandra. Short runs here; `./run chaos` runs the long versions of every fault. The faults hit
the stack's own Kafka and Cassandra processes, so they run only when this session started them."""

import pytest

from retail.chaos import run_fault

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("fault", "rounds"),
    # The stream's own kill -9 and the producer's have tests of their own (silver, ledger); these are the nodes.
    [("kafka-kill", 1), ("cassandra-stop-45s", 1)],
)
def test_a_fault_under_load_loses_doubles_and_invents_nothing(
    stack_started_here, stack_settings, tmp_path, fault, rounds
):
    if not {"kafka", "cassandra"} <= stack_started_here:
        pytest.skip(
            "kills Kafka and stops Cassandra: only on services this session started, never under a user's running "
            "stream (stop the stack before the tests, or run `./run chaos`)"
        )
    outcome = run_fault(stack_settings, tmp_path, fault, rounds=rounds, rate=300)

    assert outcome.produced > 3000 and len(outcome.resume_s) == rounds
    assert {layer: vars(r) for layer, r in outcome.layers.items()} == {
        layer: {"lost": 0, "duplicated": 0, "phantom": 0} for layer in ("bronze", "silver", "cassandra")
    }
