"""The producer's report, without Kafka."""

from pathlib import Path

import pytest

from retail.kafka import ProduceReport


@pytest.mark.parametrize(
    ("produced", "acked", "seconds", "rate"),
    [
        (1000, 1000, 2.0, 500.0),
        (1000, 400, 2.0, 200.0),  # the failed and unanswered records are not throughput
        (1000, 0, 2.0, 0.0),
        (0, 0, 0.0, 0.0),
    ],
)
def test_rate_counts_only_acknowledged_records(produced, acked, seconds, rate):
    report = ProduceReport(produced, acked, produced - acked, seconds, Path("ledger.jsonl"))

    assert report.rate == rate
