"""The header of a CSV batch file, read and checked against its entity's contract before anything lands: columns
are matched by name (case and surrounding whitespace ignored, a UTF-8 byte order mark dropped), in any order. Pure
Python on the driver; no Spark."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from retail.contracts import Contract


class CsvHeaderError(ValueError):
    """A file whose header does not fit its entity's contract; ``str()`` names what was expected, found, missing
    and unknown."""

    def __init__(self, path: Path, entity: str, reason: str, expected: tuple[str, ...], found: tuple[str, ...]):
        self.path, self.entity, self.reason = path, entity, reason
        super().__init__(
            f"{path.name} is not a {entity} file: {reason}. Expected columns (any order, any case): "
            f"{', '.join(expected)}; found: {', '.join(found) or 'nothing'}"
        )


@dataclass(frozen=True)
class Header:
    """The file's columns in file order, each a contract column name."""

    columns: tuple[str, ...]


def read_header(path: Path, contract: Contract) -> Header:
    """Returns the header of ``path`` checked against ``contract``; raises CsvHeaderError for a missing required
    column, an unknown or repeated one, or a first line that is data rather than a header. An empty file passes
    (it has no data lines to land)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
        first = next(csv.reader(f), [])
    expected = contract.names
    if not first:  # an empty file: nothing to match, and nothing will land
        return Header(expected)
    found = tuple(name.strip().lower() for name in first)
    if not set(found) & set(expected):
        raise CsvHeaderError(
            path, contract.entity, "its first line names none of the columns (no header?)", expected, found
        )
    repeated = sorted({n for n in found if found.count(n) > 1})
    unknown = [n for n in found if n not in expected]
    missing = [n for n in contract.required if n not in found]
    problems = [
        *([f"repeated {', '.join(repeated)}"] if repeated else []),
        *([f"missing {', '.join(missing)}"] if missing else []),
        *([f"unknown {', '.join(unknown)}"] if unknown else []),
    ]
    if problems:
        raise CsvHeaderError(path, contract.entity, "; ".join(problems), expected, found)
    return Header(found)
