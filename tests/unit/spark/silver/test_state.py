"""The judgement of a batch against silver's state, without Spark: rows given as keys (digests are small ints here)."""

import numpy as np
import pandas as pd
import pytest

from retail.cassandra.writer import Write
from spark.silver.state import DigestMap, SilverState, arrow_frame, cassandra_writes, judge

DAY = 86_400 * 1_000_000
NOW = 100 * DAY
ENTITIES = ("customers", "purchases", "clickstream")


def keys(*rows: tuple) -> pd.DataFrame:
    """Rows as (entity, offset, key, hash, customer, valid[, event_time]); topic = entity, partition 0."""
    frame = pd.DataFrame(
        [
            {
                "entity": r[0],
                "topic": r[0],
                "partition": 0,
                "offset": r[1],
                "key": r[2],
                "hash": r[3],
                "customer": r[4],
                "event_time": r[6] if len(r) > 6 else NOW,
                "ingested_at": NOW,
                "valid": r[5],
                "origin": "b1",
            }
            for r in rows
        ]
    )
    return frame.astype({c: "Int64" for c in ("partition", "offset", "key", "hash", "customer", "event_time")})


def outcomes(judgement) -> list[tuple]:
    rows = judgement.rows
    return list(zip(rows["entity"], rows["offset"], rows["outcome"], rows["reason"], strict=True))


def after(*batches: pd.DataFrame) -> SilverState:
    state = SilverState()
    for batch in batches:
        state.apply(judge(batch, state, ENTITIES).delta)
    return state


@pytest.mark.parametrize(
    ("earlier", "batch", "expected"),
    [
        # first occurrence: silver; a re-send with the same content in the batch: duplicate; other content: conflict
        (
            [],
            [("customers", 1, 7, 70, 5, True), ("customers", 2, 7, 70, 5, True), ("customers", 3, 7, 71, 5, True)],
            [
                ("customers", 1, "silver", None),
                ("customers", 2, "duplicate", None),
                ("customers", 3, "quarantined", "conflicting_duplicate"),
            ],
        ),
        # against an earlier batch: exact re-send and conflict
        (
            [("customers", 1, 7, 70, 5, True)],
            [("customers", 9, 7, 70, 5, True), ("customers", 10, 7, 72, 5, True)],
            [("customers", 9, "duplicate", None), ("customers", 10, "quarantined", "conflicting_duplicate")],
        ),
        # a row that broke a rule is quarantined with its own reasons (None here: they come from Spark)
        ([], [("clickstream", 1, 8, 80, None, False)], [("clickstream", 1, "quarantined", None)]),
        # a purchase of a customer nobody knows waits; of one this batch brings, or an earlier one, is silver
        ([], [("purchases", 1, 9, 90, 5, True)], [("purchases", 1, "quarantined", "unknown_customer")]),
        (
            [],
            [("customers", 1, 7, 70, 5, True), ("purchases", 2, 9, 90, 5, True)],
            [("customers", 1, "silver", None), ("purchases", 2, "silver", None)],
        ),
        ([("customers", 1, 7, 70, 5, True)], [("purchases", 2, 9, 90, 5, True)], [("purchases", 2, "silver", None)]),
        # a customer that broke a rule makes no customer known
        (
            [],
            [("customers", 1, 7, 70, 5, False), ("purchases", 2, 9, 90, 5, True)],
            [("customers", 1, "quarantined", None), ("purchases", 2, "quarantined", "unknown_customer")],
        ),
        # a row without an event id is judged by its rules alone
        ([], [("clickstream", 1, None, 80, None, False)], [("clickstream", 1, "quarantined", None)]),
    ],
)
def test_outcomes(earlier, batch, expected):
    state = after(keys(*earlier)) if earlier else SilverState()

    assert outcomes(judge(keys(*batch), state, ENTITIES)) == expected


def test_a_waiting_purchase_is_released_with_the_batch_that_brings_its_customer():
    state = after(keys(("purchases", 1, 9, 90, 5, True)), keys(("clickstream", 2, 8, 80, None, True)))

    judgement = judge(keys(("customers", 3, 7, 70, 5, True)), state, ENTITIES)

    assert outcomes(judgement) == [("customers", 3, "silver", None), ("purchases", 1, "silver", None)]
    assert judgement.counts["purchases"] == {
        "bronze_in": 0,
        "released": 1,
        "silver": 1,
        "quarantined": 0,
        "duplicate": 0,
        "late": 0,
    }
    state.apply(judgement.delta)
    assert state.waiting.empty


def test_late_events_are_silver_and_flagged_against_the_watermark():
    state = after(keys(("clickstream", 1, 1, 10, None, True, NOW)))

    judgement = judge(
        keys(("clickstream", 2, 2, 20, None, True, NOW - 3 * DAY), ("clickstream", 3, 3, 30, None, True, NOW - DAY)),
        state,
        ENTITIES,
    )

    assert list(judgement.rows["is_late"]) == [True, False]
    assert judgement.counts["clickstream"]["late"] == 1


def test_counts_add_up_and_a_replay_against_the_same_state_decides_the_same():
    earlier = keys(("customers", 1, 7, 70, 5, True), ("purchases", 2, 9, 90, 6, True))
    state = after(earlier)
    batch = keys(("customers", 3, 7, 71, 5, True), ("customers", 4, 8, 80, 6, True), ("purchases", 5, 10, 91, 5, True))

    first, again = judge(batch, state, ENTITIES), judge(batch, state, ENTITIES)

    for c in first.counts.values():
        assert c["bronze_in"] + c["released"] == c["silver"] + c["quarantined"] + c["duplicate"]
    assert outcomes(first) == outcomes(again)
    pd.testing.assert_frame_equal(first.delta, again.delta)


def test_what_falls_out_of_the_horizon_is_forgotten_but_customers_are_kept():
    state = after(keys(("customers", 1, 7, 70, 5, True)))
    later = keys(("customers", 2, 7, 70, 5, True), ("purchases", 3, 9, 90, 5, True))
    later["ingested_at"] = NOW + 8 * DAY

    assert outcomes(judge(later, state, ENTITIES)) == [
        ("customers", 2, "silver", None),  # the id is no longer remembered: not a re-send any more
        ("purchases", 3, "silver", None),  # its customer is still known
    ]


def test_a_snapshot_restores_the_same_state():
    state = after(keys(("customers", 1, 7, 70, 5, True), ("purchases", 2, 9, 90, 6, True)))
    restored = SilverState()
    restored.apply(state.snapshot())
    batch = keys(("customers", 3, 7, 71, 5, True), ("customers", 4, 8, 80, 6, True))

    assert outcomes(judge(batch, restored, ENTITIES)) == outcomes(judge(batch, state, ENTITIES))
    assert list(restored.waiting["offset"]) == [2]


def test_digest_map_keeps_the_first_value_across_levels_and_prunes_by_age():
    digests = DigestMap()
    digests._MERGE_AT = 3
    digests.put(np.array([5, 1]), np.array([50, 10]), np.array([1, 1]))
    digests.put(np.array([5, 9]), np.array([51, 90]), np.array([2, 2]))  # merges: 5 keeps 50
    digests.put(np.array([-3]), np.array([-30]), np.array([3]))

    found, values = digests.get(np.array([5, 1, 9, -3, 4]))
    assert (list(found), list(values)) == ([True, True, True, True, False], [50, 10, 90, -30, 0])
    digests.prune(before=2)
    assert list(digests.get(np.array([5, 1, 9, -3]))[0]) == [False, False, True, True]


def test_arrow_frame_keeps_64_bit_digests_exact():
    import pyarrow as pa

    big = 2**62 + 1
    frame = arrow_frame(pa.table({"key": pa.array([big, None], pa.int64())}))

    assert frame["key"][0] == big and pd.isna(frame["key"][1])


@pytest.mark.parametrize(
    ("outcome", "reason", "retried", "serving", "expected"),
    [
        ("silver", None, False, True, None),  # the serving query wrote it as it read it
        ("silver", None, False, False, Write.SILVER),  # no serving query: the silver path writes every silver row
        ("silver", None, True, True, Write.RELEASE),  # released over its own delete
        ("silver", None, True, False, Write.RELEASE),
        ("quarantined", "conflicting_duplicate", False, True, Write.DELETE),  # the serving query wrote the re-send
        ("quarantined", "unknown_customer", False, True, Write.DELETE),  # waits for its customer, out of Cassandra
        ("quarantined", None, False, True, None),  # broke a row rule: the serving query never wrote it
        ("duplicate", None, False, False, None),
        ("waiting", None, True, True, None),
    ],
)
def test_the_judgement_says_how_each_row_reaches_cassandra(outcome, reason, retried, serving, expected):
    judged = pd.DataFrame([{"outcome": outcome, "reason": reason, "retried": retried}])

    write = cassandra_writes(judged, serving).iloc[0]

    assert (None if pd.isna(write) else Write(write)) == expected
