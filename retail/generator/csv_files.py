"""CSV batch files of the same entities, with bad rows where the records are bad: a payload that cannot be written
as a row (malformed JSON, schema drift) becomes a ragged row, invalid UTF-8 stays invalid bytes.

Files can be written as a shop's export would be: without the platform's ``event_id`` column (silver names each
event by its identity, the same id the generator gave it), columns in another order, and with the quirks of real
exports (the same instant written with a UTC offset, a customer's name broken over two lines inside quotes)."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from retail.contracts import CONTRACTS
from retail.generator.faults import Record


@dataclass(frozen=True)
class CsvLine:
    """Where one generated record went: file and the line its row starts on (the header is line 1)."""

    seq: int
    entity: str
    event_id: str
    kind: str
    file: str
    line_number: int


def _row(record: Record, names: tuple[str, ...], quirks: random.Random | None = None) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if record.kind == "malformed_json":
        writer.writerow(["garbled", record.event_id])  # a truncated export line: too few fields
        return buf.getvalue().encode()
    payload = dict(record.payload or {})
    if record.kind == "invalid_utf8":
        payload = {"event_id": record.event_id}
    elif quirks is not None:
        payload = _with_quirks(record.entity, payload, quirks)
    values = ["" if payload.get(n) is None else str(payload.get(n)) for n in names]
    extra = [str(v) for k, v in payload.items() if k not in names and k != "event_id"]  # schema drift
    writer.writerow(values + extra)
    line = buf.getvalue().encode()
    if record.kind == "invalid_utf8":
        line = line.replace(b",", b",\xff\xfe", 1)
    return line


def _with_quirks(entity: str, payload: dict[str, object], rng: random.Random) -> dict[str, object]:
    """The same values as a shop's export may write them: a timestamp with a UTC offset (one row in three), a
    customer's name broken over two lines (one in five; silver folds whitespace, so the name is the same)."""
    contract = CONTRACTS[entity]
    quirky = dict(payload)
    for column in contract.columns:
        value = payload.get(column.name)
        if column.type != "timestamp" or not isinstance(value, str) or rng.random() > 1 / 3:
            continue
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            continue
        if 1970 <= instant.year < 9000:
            offset = timezone(timedelta(minutes=rng.choice((-300, -210, 60, 120, 330, 600))))
            quirky[column.name] = instant.astimezone(offset).isoformat(timespec="milliseconds")
    name = payload.get("name")
    if entity == "customers" and isinstance(name, str) and " " in name and rng.random() < 1 / 5:
        quirky["name"] = name.replace(" ", "\n", 1)
    return quirky


def write_csv(
    records: Iterable[Record],
    out_dir: Path,
    stem: str,
    shuffle_seed: int | None = None,
    *,
    event_ids: bool = True,
    quirks_seed: int | None = None,
) -> tuple[list[Path], list[CsvLine]]:
    """Writes one CSV file per entity (``<stem>-<entity>.csv``, header first; with ``shuffle_seed``, each entity's
    columns in a shuffled order, as real exports put them; without ``event_ids``, no event_id column; with
    ``quirks_seed``, the quirks of real exports); returns the files and, for every record, the file and line its
    row starts on."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = {e: c.names if event_ids else c.names[1:] for e, c in CONTRACTS.items()}
    if shuffle_seed is not None:
        names = {e: tuple(random.Random(f"{shuffle_seed}:{e}").sample(n, len(n))) for e, n in names.items()}
    quirks = random.Random(f"quirks:{quirks_seed}") if quirks_seed is not None else None
    files = {e: (out_dir / f"{stem}-{e}.csv").open("wb") for e in CONTRACTS}
    lines = dict.fromkeys(CONTRACTS, 1)
    placed: list[CsvLine] = []
    try:
        for entity, f in files.items():
            f.write((",".join(names[entity]) + "\n").encode())
        for seq, record in enumerate(records):
            row = _row(record, names[record.entity], quirks)
            files[record.entity].write(row)
            name = files[record.entity].name
            placed.append(CsvLine(seq, record.entity, record.event_id, record.kind, name, lines[record.entity] + 1))
            lines[record.entity] += row.count(b"\n")
    finally:
        for f in files.values():
            f.close()
    return [Path(f.name) for f in files.values()], placed
