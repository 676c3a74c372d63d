"""The serving query's latency figures, from the histogram its tasks return."""

import numpy as np
import pytest

from spark.silver.serving import BUCKET_S, BUCKETS, quantile


def histogram(seconds: list[float]) -> np.ndarray:
    counts = np.zeros(BUCKETS, dtype=np.int64)
    for s in seconds:
        counts[min(int(s / BUCKET_S), BUCKETS - 1)] += 1
    return counts


@pytest.mark.parametrize(
    ("seconds", "q", "expected"),
    [
        ([0.004] * 10, 0.5, 0.01),  # everything in the first bucket: its upper edge
        ([0.1] * 50 + [2.0] * 50, 0.5, 0.11),
        ([0.1] * 94 + [2.0] * 6, 0.95, 2.01),
        ([999.0], 0.5, BUCKETS * BUCKET_S),  # beyond a minute: the overflow bucket
    ],
)
def test_quantile_is_the_upper_edge_of_the_bucket_that_holds_it(seconds, q, expected):
    assert quantile(histogram(seconds), q) == pytest.approx(expected)
