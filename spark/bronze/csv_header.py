"""The dialect of a CSV batch file and its header, read and checked against its entity's contract before anything
lands: columns are matched by name (case and surrounding whitespace ignored, a UTF-8 byte order mark dropped), in
any order. Pure Python on the driver; no Spark."""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

from retail.contracts import Contract

# Encodings a file may be declared in: ASCII-compatible ones, so lines still end at the same bytes. Spark decodes
# them (its `decode` knows these names); anything else is not accepted rather than misread.
# Keyed by Python's name of the codec, so every alias (latin-1, ISO-8859-1, utf8, ascii ...) is understood.
ENCODINGS = {"utf-8": "UTF-8", "iso8859-1": "ISO-8859-1", "ascii": "US-ASCII"}


class CsvFileError(ValueError):
    """A file that cannot be landed as a whole; ``str()`` says why and what to do. Nothing of it has landed."""

    def __init__(self, path: Path, entity: str, reason: str):
        self.path, self.entity, self.reason = path, entity, reason
        super().__init__(f"{path.name} is not a {entity} file: {reason}")


class CsvHeaderError(CsvFileError):
    """A file whose header does not fit its entity's contract; ``str()`` names what was expected, found, missing
    and unknown."""

    def __init__(self, path: Path, entity: str, reason: str, expected: tuple[str, ...], found: tuple[str, ...]):
        super().__init__(
            path,
            entity,
            f"{reason}. Expected columns (any order, any case): {', '.join(expected)}; "
            f"found: {', '.join(found) or 'nothing'}",
        )
        self.reason = reason


@dataclass(frozen=True)
class CsvDialect:
    """How a shop's export is written: RFC 4180 quoting (``"`` around a field, ``""`` inside one, line breaks
    allowed in a quoted field) with this ``delimiter``, in this ``encoding``; with ``extra_columns``, columns the
    contract does not know are kept in bronze (``extra``) instead of rejecting the file."""

    delimiter: str = ","
    encoding: str = "utf-8"
    extra_columns: bool = False

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1 or self.delimiter in '"\r\n':
            raise ValueError(
                f"a CSV delimiter is one character other than a quote or a line break, not {self.delimiter!r}"
            )
        if self.charset is None:
            raise ValueError(
                f"CSV encoding {self.encoding!r} is not supported; declare one of utf-8, latin-1, ascii"
                " (or convert the file to UTF-8)"
            )

    @property
    def charset(self) -> str | None:
        """Returns the encoding's name as Spark knows it (None when it is not supported)."""
        try:
            return ENCODINGS.get(codecs.lookup(self.encoding).name)
        except LookupError:
            return None

    @property
    def is_utf8(self) -> bool:
        """Returns whether lines are read as they are (UTF-8), rather than decoded."""
        return self.charset == "UTF-8"


RFC4180 = CsvDialect()  # comma-separated UTF-8, unknown columns rejected


@dataclass(frozen=True)
class Header:
    """The file's columns in file order (contract columns by their contract name), and which of them the contract
    does not know (kept in bronze only when the dialect allows extra columns)."""

    columns: tuple[str, ...]
    extra: tuple[str, ...] = ()


def read_header(path: Path, contract: Contract, dialect: CsvDialect = RFC4180) -> Header:
    """Returns the header of ``path`` checked against ``contract``; raises CsvHeaderError for a missing required
    column, an unknown one (unless the dialect allows extra columns) or a repeated one, or a first line that is data
    rather than a header. ``event_id`` may be absent (silver names such events by their identity). An empty file
    passes (it has no data lines to land)."""
    encoding = "utf-8-sig" if dialect.is_utf8 else dialect.encoding
    with path.open(encoding=encoding, errors="replace", newline="") as f:
        first = next(csv.reader(f, delimiter=dialect.delimiter), [])
    expected = contract.names
    if not first:  # an empty file: nothing to match, and nothing will land
        return Header(expected)
    found = tuple(name.strip().lower() for name in first)
    if not set(found) & set(expected):
        reason = "its first line names none of the columns (no header?"
        reason += f" or not {dialect.delimiter!r}-separated?)" if len(found) == 1 else ")"
        raise CsvHeaderError(path, contract.entity, reason, expected, found)
    repeated = sorted({n for n in found if found.count(n) > 1})
    unknown = tuple(n for n in found if n not in expected)
    missing = [n for n in contract.required if n not in found]
    problems = [
        *([f"repeated {', '.join(repeated)}"] if repeated else []),
        *([f"missing {', '.join(missing)}"] if missing else []),
        *(
            [f"unknown {', '.join(unknown)} (RETAIL_CSV__EXTRA_COLUMNS=true keeps them)"]
            if unknown and not dialect.extra_columns
            else []
        ),
    ]
    if problems:
        raise CsvHeaderError(path, contract.entity, "; ".join(problems), expected, found)
    return Header(found, unknown)
