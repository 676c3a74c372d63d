"""CSV batch files of the same entities, with bad rows where the records are bad: a payload that cannot be written
as a row (malformed JSON, schema drift) becomes a ragged row, invalid UTF-8 stays invalid bytes."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from retail.contracts import CONTRACTS
from retail.generator.faults import Record


@dataclass(frozen=True)
class CsvLine:
    """Where one generated record went: file and line number (the header is line 1)."""

    seq: int
    entity: str
    event_id: str
    kind: str
    file: str
    line_number: int


def _row(record: Record, names: tuple[str, ...]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if record.kind == "malformed_json":
        writer.writerow(["garbled", record.event_id])  # a truncated export line: too few fields
        return buf.getvalue().encode()
    payload = dict(record.payload or {})
    if record.kind == "invalid_utf8":
        payload = {}
    values = ["" if payload.get(n) is None else str(payload.get(n)) for n in names]
    if record.kind == "invalid_utf8":
        values[names.index("event_id")] = record.event_id
    extra = [str(v) for k, v in payload.items() if k not in names]  # schema drift: one more field than the header
    writer.writerow(values + extra)
    line = buf.getvalue().encode()
    if record.kind == "invalid_utf8":
        line = line.replace(b",", b",\xff\xfe", 1)
    return line


def write_csv(
    records: Iterable[Record], out_dir: Path, stem: str, shuffle_seed: int | None = None
) -> tuple[list[Path], list[CsvLine]]:
    """Writes one CSV file per entity (``<stem>-<entity>.csv``, header first; with ``shuffle_seed``, each entity's
    columns in a shuffled order, as real exports put them); returns the files and, for every record, the file and
    line it went to."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = {e: c.names for e, c in CONTRACTS.items()}
    if shuffle_seed is not None:
        names = {e: tuple(random.Random(f"{shuffle_seed}:{e}").sample(n, len(n))) for e, n in names.items()}
    files = {e: (out_dir / f"{stem}-{e}.csv").open("wb") for e in CONTRACTS}
    lines = dict.fromkeys(CONTRACTS, 1)
    placed: list[CsvLine] = []
    try:
        for entity, f in files.items():
            f.write((",".join(names[entity]) + "\n").encode())
        for seq, record in enumerate(records):
            files[record.entity].write(_row(record, names[record.entity]))
            lines[record.entity] += 1
            placed.append(
                CsvLine(
                    seq, record.entity, record.event_id, record.kind, files[record.entity].name, lines[record.entity]
                )
            )
    finally:
        for f in files.values():
            f.close()
    return [Path(f.name) for f in files.values()], placed
