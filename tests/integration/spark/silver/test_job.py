"""Silver on the real stack: every generated record ends in exactly the place the ledger says it should, whether it
came through Kafka or a CSV file, in one batch or many, with or without a kill -9 in between; and Cassandra, written
by the serving query and the silver path, converges to what silver holds whichever writes first."""

import calendar
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyspark.sql.functions as F
import pytest

from retail.cassandra import SALES_BY_MINUTE, TABLE_OF_ENTITY, CassandraTarget
from retail.composition import silver_targets, start_serving, start_stream
from retail.contracts import CONTRACTS
from retail.generator import GeneratorConfig, generate
from retail.generator.csv_files import write_csv
from retail.gold import build_gold
from retail.kafka import ensure_topics, produce, read_ledger
from retail.lake import STREAM_QUERY
from spark.hdfs import Lake
from spark.ingest import ingest_csv
from spark.silver.job import SilverTargets, outstanding_quarantine

pytestmark = pytest.mark.integration

ACCEPTED = {"valid", "late_event"}  # late events are real events: silver, flagged when late
REMOVED = {"exact_duplicate"}
REASON = {  # what the quarantine says of each bad kind; None: one rule of that family, named by field
    "malformed_json": "malformed_json",
    "invalid_utf8": "invalid_utf8",
    "unknown_field": "unknown_field",
    "oversized_value": "oversized_value",
    "future_timestamp": "future_timestamp",
    "invalid_email": "invalid_email",
    "nonpositive_quantity": "nonpositive_quantity",
    "negative_price": "negative_price",
    "unknown_event_type": "unknown_event_type",
    "conflicting_duplicate": "conflicting_duplicate",
    "unknown_customer": "unknown_customer",
    "invalid_url": "invalid_url",
    "amount_out_of_range": "amount_out_of_range",
    "timestamp_out_of_range": "timestamp_out_of_range",
    "missing_field": None,
    "wrong_type": None,
    "empty_key": None,
}
# A CSV file cannot hold a payload that is not a row: those lines are ragged, and that is their reason.
CSV_REASON = {**REASON, "malformed_json": "ragged_row", "unknown_field": "ragged_row"}


def records_of(n: int, seed: int) -> list:
    return list(itertools.islice(generate(GeneratorConfig(seed=seed, bad_fraction=0.05)), n))


def send(settings, records, ledger) -> dict[tuple, str]:
    """Produces ``records``; returns the kind of each by where Kafka put it (topic, partition, offset)."""
    ensure_topics(settings)
    assert produce(records, settings, ledger).acked == len(records)
    return {(e.topic, e.partition, e.offset): records[e.seq].kind for e in read_ledger(ledger)}


def catch_up(spark, settings) -> None:
    query = start_stream(spark, settings, trigger_seconds=None, silver=True)
    query.awaitTermination()
    assert query.exception() is None


def test_silver_and_quarantine_hold_exactly_what_the_ledger_says(isolated, spark, tmp_path):
    records = records_of(4000, seed=21)
    kind_at = send(isolated, records, tmp_path / "ledger.jsonl")

    catch_up(spark, isolated)

    assert_matches_ledger(spark, isolated, records, kind_at)


def test_the_same_after_kill_9_mid_run_and_a_restart(isolated, spark, tmp_path, kill_stream_mid_run):
    records = records_of(6000, seed=22)
    kind_at = send(isolated, records, tmp_path / "ledger.jsonl")

    kill_stream_mid_run(isolated, "--silver", committed=2)
    catch_up(spark, isolated)

    commits = spark.read.parquet(isolated.lake().batch_counts).select("batch_id").distinct().count()
    assert commits > 2, "the kill came after the whole run: nothing was tested"
    assert_matches_ledger(spark, isolated, records, kind_at)


def test_purchases_before_their_customers_wait_in_quarantine_and_are_released(isolated, spark, tmp_path):
    records = records_of(2000, seed=23)
    purchases = [r for r in records if r.entity == "purchases"]
    others = [r for r in records if r.entity != "purchases"]

    kind_at = send(isolated, purchases, tmp_path / "purchases.jsonl")
    catch_up(spark, isolated)
    waiting = outstanding_quarantine(spark, targets(isolated)).where(F.array_contains("reasons", "unknown_customer"))
    assert waiting.count() == sum(r.kind in ACCEPTED | {"unknown_customer"} for r in purchases)

    kind_at |= send(isolated, others, tmp_path / "others.jsonl")
    catch_up(spark, isolated)

    assert_matches_ledger(spark, isolated, records, kind_at)


def test_csv_files_go_through_the_same_silver(isolated, spark, tmp_path):
    records = records_of(3000, seed=24)
    files, lines = write_csv(records, tmp_path, "batch", shuffle_seed=24)  # columns by name, in any order
    roots = {"landing_root": isolated.lake().landing_csv, "bronze_root": isolated.lake().bronze_csv}
    by_entity = {f.name.removesuffix(".csv").removeprefix("batch-"): f for f in files}

    reports = [
        ingest_csv(spark, by_entity[entity], entity, **roots, silver=silver_targets(isolated))
        for entity in ("purchases", "customers", "clickstream", "purchases")  # purchases first, and twice
    ]

    assert reports[-1].already_ingested and reports[-1].silver == reports[0].silver
    assert reports[1].silver["purchases"]["released"] > 0, "the customers' file released no waiting purchase"
    kind_at = {(line.file, 0, line.line_number): line.kind for line in lines}
    assert_matches_ledger(spark, isolated, records, kind_at, CSV_REASON)


def test_a_shops_export_without_event_ids_gives_the_generators_events_and_gold(isolated, spark, tmp_path):
    """Files in the seed's column order, no event_id, UTC offsets and names over two lines: silver holds each
    accepted event under the id the generator gave it, with its values; gold's figures equal a recomputation from
    the generator's own records."""
    records = records_of(3000, seed=26)
    files, lines = write_csv(records, tmp_path, "export", event_ids=False, quirks_seed=26)
    assert b"event_id" not in files[0].read_bytes().splitlines()[0]
    roots = {"landing_root": isolated.lake().landing_csv, "bronze_root": isolated.lake().bronze_csv}
    by_entity = {f.name.removesuffix(".csv").removeprefix("export-"): f for f in files}
    opened = [line for line in by_entity["customers"].read_bytes().splitlines() if line.count(b'"') % 2]
    assert opened, "no customer's name over two lines: the quirks were not written"
    for entity in CONTRACTS:
        ingest_csv(spark, by_entity[entity], entity, **roots, silver=silver_targets(isolated))

    assert_matches_ledger(spark, isolated, records, {(ln.file, 0, ln.line_number): ln.kind for ln in lines}, CSV_REASON)
    accepted = [r for r in records if r.kind in ACCEPTED]
    purchases = spark.read.parquet(isolated.lake().silver("purchases")).collect()
    customers = spark.read.parquet(isolated.lake().silver("customers")).collect()
    assert {r.event_id for e in CONTRACTS for r in spark.read.parquet(isolated.lake().silver(e)).collect()} == {
        r.event_id for r in accepted
    }
    sent = {r.event_id: r.payload for r in accepted}
    assert {p.event_id: (p.purchase_date, p.total_amount) for p in purchases} == {
        p.event_id: (_utc(sent[p.event_id]["purchase_date"]), _amount(sent[p.event_id])) for p in purchases
    }
    assert {c.event_id: c.name for c in customers} == {c.event_id: sent[c.event_id]["name"] for c in customers}

    build = build_gold(isolated.model_copy(update={"gold_path": tmp_path / "gold"}))

    bought = [r.payload for r in accepted if r.entity == "purchases"]
    orders = Counter(p["customer_id"] for p in bought)
    signed_up = [r.payload["customer_id"] for r in accepted if r.entity == "customers"]
    assert build.headline["revenue"] == sum(_amount(p) for p in bought)
    assert build.headline["orders"] == len(bought)
    assert build.headline["orders_per_customer"] == dict(orders)
    assert build.headline["customers_per_segment"] == dict(Counter(_segment(orders.get(c, 0)) for c in signed_up))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def _amount(purchase: dict) -> Decimal:
    return (Decimal(str(purchase["price"])) * purchase["quantity"]).quantize(Decimal("0.01"))


def _segment(orders: int) -> str:
    return "No Purchases" if orders == 0 else "One-time" if orders == 1 else "Regular" if orders < 5 else "Frequent"


def test_csv_ingest_racing_the_stream_with_the_same_events_lands_each_event_once(isolated, spark, tmp_path, deadline):
    records = [r for r in records_of(6000, seed=25) if r.kind == "valid"]
    send(isolated, records, tmp_path / "ledger.jsonl")
    # The files as a shop exports them: no event ids (silver names each event by its identity), offsets, names
    # over two lines. The same events through Kafka and CSV must still be recognised as the same events.
    files, _ = write_csv(records, tmp_path, "race", event_ids=False, quirks_seed=25)
    roots = {"landing_root": isolated.lake().landing_csv, "bronze_root": isolated.lake().bronze_csv}
    by_entity = {f.name.removesuffix(".csv").removeprefix("race-"): f for f in files}

    with stream_in_another_process(spark, isolated, tmp_path / "stream.log", deadline) as committed:
        committed(1)  # the stream is writing silver batch after batch ...
        for entity in ("customers", "purchases", "clickstream"):  # ... while this process ingests the same events
            ingest_csv(spark, by_entity[entity], entity, **roots, silver=silver_targets(isolated))
        raced = committed(0)
    catch_up(spark, isolated)  # whatever the stream had not read yet

    ids = Counter(
        r.event_id
        for e in CONTRACTS
        for r in spark.read.parquet(isolated.lake().silver(e)).select("event_id").collect()
    )
    assert raced > 1, "the stream committed no batch while the files were ingested: nothing raced"
    assert [i for i, n in ids.items() if n > 1] == []
    assert set(ids) == {r.event_id for r in records}


@contextmanager
def stream_in_another_process(spark, settings, log: Path, deadline):
    """Runs `retail bronze stream --silver` (small batches, no serving query) in a process of its own; yields a
    function that waits until it committed more than ``n`` batches and returns how many it has; stops it at the
    end (Ctrl-C, as a user would). ``deadline`` scales the waits (the ``deadline`` fixture)."""
    env = {
        **os.environ,
        "RETAIL_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "RETAIL_LAKE_PATH": settings.lake_path,
        "RETAIL_CASSANDRA_KEYSPACE": settings.cassandra_keyspace,
    }
    command = [str(Path(sys.executable).parent / "retail"), "bronze", "stream", "--silver", "--no-serving"]
    command += ["--max-offsets", "300", "--trigger-seconds", "0.5"]
    commits = settings.lake().checkpoint(STREAM_QUERY) + "/commits"
    with log.open("wb") as out:
        stream = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def committed(n: int) -> int:
        wait_s = deadline(300)
        until = time.monotonic() + wait_s
        while (done := len(Lake(spark).names(commits))) <= n:
            assert stream.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < until, f"the stream committed no more than {n} batches in {wait_s} s"
            time.sleep(0.5)
        return done

    try:
        yield committed
    finally:
        os.killpg(stream.pid, signal.SIGINT)
        try:
            stream.wait(timeout=deadline(120))
        except subprocess.TimeoutExpired:
            os.killpg(stream.pid, signal.SIGKILL)
            stream.wait()


def end_offsets(kind_at) -> dict[str, dict[str, int]]:
    """Returns, per topic and partition, the offset after the last record the ledger holds (Spark's progress form)."""
    ends: dict[str, dict[str, int]] = defaultdict(dict)
    for topic, partition, offset in kind_at:
        ends[topic][str(partition)] = max(ends[topic].get(str(partition), 0), offset + 1)
    return ends


def serve(spark, settings, kind_at, deadline_s: float) -> None:
    """Runs the serving query until it has written every record of ``kind_at`` (real-time batches of 5 s: a batch's
    progress says where it ended), then stops it."""
    query = start_serving(spark, settings.model_copy(update={"serving_batch_s": 5}))
    wanted, deadline = end_offsets(kind_at), time.monotonic() + deadline_s
    try:
        while True:
            assert query.exception() is None, query.exception()
            progress, done = query.lastProgress, {}
            for source in (progress or {}).get("sources", []):  # one Kafka source per entity topic
                end = source["endOffset"]
                done.update(json.loads(end) if isinstance(end, str) else end or {})
            if done and all(done.get(t, {}).get(p, 0) >= end for t, ends in wanted.items() for p, end in ends.items()):
                return
            assert time.monotonic() < deadline, f"the serving query did not reach {dict(wanted)}: {progress}"
            time.sleep(0.5)
    finally:
        query.stop()


def catch_up_silver(spark, settings) -> None:
    query = start_stream(spark, settings, trigger_seconds=None, silver=True, serving=True)
    query.awaitTermination()
    assert query.exception() is None


def primary_keys(spark, settings):
    """Returns, per entity, the sorted primary keys of its serving table as silver and as Cassandra hold them
    (timestamps in epoch milliseconds): a serving table holds one row per key."""
    cluster = CassandraTarget.from_settings(settings).connect()
    try:
        session = cluster.connect(settings.cassandra_keyspace)
        stored = {
            entity: sorted(
                tuple(_millis(v) for v in row)
                for row in session.execute(f"SELECT {', '.join(table.primary_key)} FROM {table.name}")
            )
            for entity, table in TABLE_OF_ENTITY.items()
        }
    finally:
        cluster.shutdown()
    silver = {}
    for entity, table in TABLE_OF_ENTITY.items():
        path = settings.lake().silver(entity)
        if not Lake(spark).exists(path):
            silver[entity] = []
            continue
        rows = spark.read.parquet(path)
        keys = [
            F.unix_millis(k).alias(k) if dict(rows.dtypes)[k] == "timestamp" else F.col(k) for k in table.primary_key
        ]
        silver[entity] = sorted(tuple(r) for r in rows.select(*keys).distinct().collect())
    return silver, stored


def assert_same_keys(silver, stored) -> None:
    for entity in silver:
        missing, extra = set(silver[entity]) - set(stored[entity]), set(stored[entity]) - set(silver[entity])
        assert not missing and not extra, (
            f"{entity}: not in Cassandra {sorted(missing)[:5]}, only there {sorted(extra)[:5]}"
        )
        assert len(stored[entity]) == len(silver[entity]), entity


def _millis(value):
    if isinstance(value, datetime):  # the driver gives UTC timestamps as naive datetimes
        return calendar.timegm(value.timetuple()) * 1000 + value.microsecond // 1000
    return value


def test_cassandra_converges_to_silver_whichever_path_writes_first(isolated, spark, tmp_path, deadline):
    records = records_of(3000, seed=31)
    purchases = [r for r in records if r.entity == "purchases"]
    others = [r for r in records if r.entity != "purchases"]

    # Purchases before their customers: the serving query writes them all; silver, after it, removes the waiting.
    kind_at = send(isolated, purchases, tmp_path / "purchases.jsonl")
    serve(spark, isolated, kind_at, deadline(300))
    cluster = CassandraTarget.from_settings(isolated).connect()
    try:
        served = cluster.connect(isolated.cassandra_keyspace).execute("SELECT COUNT(*) FROM purchases_by_customer")
        assert served.one()[0] > 0, "the serving query wrote no purchase"
    finally:
        cluster.shutdown()
    catch_up_silver(spark, isolated)
    silver, stored = primary_keys(spark, isolated)
    assert not silver["purchases"], "no purchase should be in silver before its customer"
    assert_same_keys(silver, stored)

    # Then the customers: silver first (it releases the purchases), the serving query after it.
    others_at = send(isolated, others, tmp_path / "others.jsonl")
    catch_up_silver(spark, isolated)
    serve(spark, isolated, kind_at | others_at, deadline(300))
    silver, stored = primary_keys(spark, isolated)
    assert silver["purchases"], "no purchase was released"
    assert_same_keys(silver, stored)


def targets(settings) -> SilverTargets:
    return SilverTargets.under(settings.lake())


def assert_matches_ledger(spark, isolated, records, kind_at, reasons=REASON) -> None:
    """Silver holds exactly the accepted records, the outstanding quarantine exactly the bad ones with their
    reasons (every record found by its lineage: bad payloads may have no readable event id), the recorded counts
    add up, and Cassandra holds what silver holds."""
    silver = []
    for entity in CONTRACTS:
        rows = (
            spark.read.parquet(isolated.lake().silver(entity))
            .select("event_id", "topic", "partition", "offset")
            .collect()
        )
        assert len(rows) == len({r.event_id for r in rows}), f"{entity}: an event id twice in silver"
        silver += [(r.topic, r.partition, r.offset) for r in rows]
    quarantine = outstanding_quarantine(spark, targets(isolated)).select("reasons", "topic", "partition", "offset")
    quarantine = quarantine.collect()

    assert sorted(silver) == sorted(at for at, kind in kind_at.items() if kind in ACCEPTED)
    assert sorted((r.topic, r.partition, r.offset) for r in quarantine) == sorted(
        at for at, kind in kind_at.items() if kind in reasons
    )
    for row in quarantine:
        kind = kind_at[(row.topic, row.partition, row.offset)]
        family = {"missing_field": "missing_field:", "wrong_type": "wrong_type:", "empty_key": "empty_key:"}.get(kind)
        if family:
            assert len(row.reasons) == 1 and row.reasons[0].startswith(family), (kind, row.reasons)
        else:
            assert list(row.reasons) == [reasons[kind]], (kind, row.reasons)
    assert_counts_add_up(spark, isolated, records)
    assert_cassandra_matches_silver(spark, isolated)


def assert_counts_add_up(spark, isolated, records) -> None:
    counts = (
        spark.read.parquet(isolated.lake().batch_counts)
        .groupBy("entity")
        .agg(*(F.sum(c).alias(c) for c in ("bronze_in", "released", "silver", "quarantined", "duplicate")))
    )
    per_entity = Counter(r.entity for r in records)
    removed = Counter(r.entity for r in records if r.kind in REMOVED)
    for row in counts.collect():
        assert row.bronze_in == per_entity[row.entity]
        assert row.bronze_in + row.released == row.silver + row.quarantined + row.duplicate
        assert row.duplicate == removed[row.entity]


def assert_cassandra_matches_silver(spark, isolated) -> None:
    assert_same_keys(*primary_keys(spark, isolated))
    cassandra = CassandraTarget.from_settings(isolated).connect()
    try:
        session = cassandra.connect(isolated.cassandra_keyspace)
        purchases = spark.read.parquet(isolated.lake().silver("purchases"))
        minutes = purchases.select(F.date_trunc("minute", "purchase_date")).distinct().count()
        revenue = purchases.agg(F.sum("total_amount")).first()[0]
        sales = session.execute(f"SELECT minute, total_amount FROM {SALES_BY_MINUTE.name}").all()
        assert (len({r.minute for r in sales}), sum(r.total_amount for r in sales)) == (minutes, revenue)
    finally:
        cassandra.shutdown()
