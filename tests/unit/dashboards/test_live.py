"""The live feed's file and the shop whose events happen as they are sent, without services."""

import itertools
import json
import os
import stat
from datetime import UTC, datetime
from decimal import Decimal

import duckdb

from retail.contracts import CONTRACTS
from retail.dashboards.live import last_hour, write
from retail.dashboards.secrets import ensure_secrets, read_secrets
from retail.generator import GeneratorConfig, generate, happening_now


def test_the_last_hour_has_every_minute_and_zeros_where_nothing_sold():
    now = datetime(2026, 3, 1, 0, 20, 42, tzinfo=UTC)
    sold = datetime(2026, 2, 28, 23, 30)
    rows = last_hour({sold: (Decimal("12.50"), 2, 3), datetime(2026, 2, 28, 22, 0): (Decimal(9), 1, 1)}, now)

    assert len(rows) == 61
    assert rows[0][0] == datetime(2026, 2, 28, 23, 20) and rows[-1][0] == datetime(2026, 3, 1, 0, 20)
    assert [r for r in rows if r[2]] == [(sold, Decimal("12.50"), 2, 3)]  # 22:00 is out of the hour


def test_the_live_file_is_replaced_whole_while_a_reader_has_it_open(tmp_path):
    path = tmp_path / "live" / "sales.duckdb"
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    write(path, [(datetime(2026, 3, 1, 11, 59), Decimal("1.00"), 1, 1)], now)
    with duckdb.connect(str(path), read_only=True) as reader:
        write(path, [(datetime(2026, 3, 1, 12, 0), Decimal("2.00"), 2, 2)], now)
        assert reader.execute("select sum(orders) from sales_per_minute").fetchone()[0] == 1
    with duckdb.connect(str(path), read_only=True) as reader:
        assert reader.execute("select sum(orders), max(refreshed_at) from sales_per_minute").fetchone() == (
            2,
            datetime(2026, 3, 1, 12, 0),
        )
    assert sorted(p.name for p in path.parent.iterdir()) == ["sales.duckdb"]


def test_a_live_shops_events_happen_when_sent_and_keep_ids_their_contract_gives():
    at = datetime(2026, 12, 3, 9, 30, 1, 250000, tzinfo=UTC)
    records = list(
        happening_now(itertools.islice(generate(GeneratorConfig(seed=5, bad_fraction=0.2)), 400), lambda: at)
    )

    valid = [r for r in records if r.kind == "valid"]
    assert valid and len(valid) < len(records)
    for record in valid:
        contract = CONTRACTS[record.entity]
        payload = json.loads(record.value)
        assert payload[contract.event_time] == "2026-12-03T09:30:01.250Z"
        assert payload["event_id"] == record.event_id == contract.event_id_of(payload)
    originals = list(itertools.islice(generate(GeneratorConfig(seed=5, bad_fraction=0.2)), 400))
    assert [r.value for r in records if r.kind != "valid"] == [r.value for r in originals if r.kind != "valid"]


def test_superset_secrets_are_generated_once_for_this_user_only_and_never_shown(tmp_path):
    first = ensure_secrets(tmp_path / "superset")
    again = ensure_secrets(tmp_path / "superset")

    assert first == again == read_secrets(tmp_path / "superset")
    assert stat.S_IMODE(os.stat(tmp_path / "superset" / "secrets.json").st_mode) == 0o600
    password = first.admin_password.get_secret_value()
    assert len(password) >= 16 and password not in repr(first) and password not in str(first)
    assert first.secret_key.get_secret_value() not in repr(first)
    assert ensure_secrets(tmp_path / "other").admin_password != first.admin_password
