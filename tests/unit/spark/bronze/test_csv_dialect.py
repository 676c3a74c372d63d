"""Real CSV exports on real (local) Spark: RFC 4180 quoting with commas, quotes and line breaks in a field, CRLF, a
byte order mark, blank lines, another delimiter, a declared encoding, and files read in many parallel splits. What
lands is checked against Python's own csv module reading the same bytes."""

import csv
import io
import random

import pytest

from retail.contracts import CUSTOMERS
from spark.bronze.csv_header import RFC4180, CsvDialect, CsvFileError
from spark.bronze.job import land_csv

HEADER = "customer_id,name,email,country,signup_date"  # a shop's export: the seed's order, no event_id


def land(spark, tmp_path, content: bytes, dialect: CsvDialect = RFC4180):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "export-customers.csv"
    path.write_bytes(content)
    lake = f"file://{tmp_path}/lake"
    report = land_csv(
        spark, path, "customers", landing_root=f"{lake}/landing", bronze_root=f"{lake}/bronze", dialect=dialect
    )
    rows = spark.read.parquet(f"{lake}/bronze").select("line_number", *CUSTOMERS.names[1:], "extra", "parse_error")
    return report, sorted(rows.collect(), key=lambda r: r.line_number)


def python_rows(content: bytes, encoding: str = "utf-8-sig", delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """Each data row as Python's csv module reads it, with the physical line it starts on (blank lines left out)."""
    reader = csv.reader(io.StringIO(content.decode(encoding), newline=""), delimiter=delimiter)
    rows, consumed = [], 0
    for fields in reader:
        if fields and consumed > 0:
            rows.append((consumed + 1, [f.replace("\r\n", "\n").replace("\r", "\n") for f in fields]))
        consumed = reader.line_num
    return rows


CASES = {
    "a line break, a comma and doubled quotes in quoted fields": (
        f'{HEADER}\nC1,"Ann\nLee",ann@example.com,DE,2026-01-01T00:00:00Z\n'
        f'C2,"Lee, ""Bo""",bo@example.com,FR,2026-01-02T00:00:00Z\nC3,Cy,cy@example.com,US,2026-01-03T00:00:00Z\n'
    ),
    "CRLF, a byte order mark and a field spanning three lines": (
        f'\ufeff{HEADER}\r\nC1,"Ann\r\n\r\nLee",ann@example.com,DE,2026-01-01T00:00:00Z\r\n'
        "C2,Bo,bo@example.com,FR,2026-01-02T00:00:00Z\r\n"
    ),
    "a quoted field that is only a line break, then the last row without a newline": (
        f'{HEADER}\nC1,"\n",ann@example.com,DE,2026-01-01T00:00:00Z\nC2,Bo,bo@example.com,FR,2026-01-02T00:00:00Z'
    ),
}


@pytest.mark.parametrize("content", CASES.values(), ids=CASES.keys())
def test_rows_land_as_rfc_4180_reads_them(spark, tmp_path, content):
    report, rows = land(spark, tmp_path, content.encode())

    expected = python_rows(content.encode())
    assert [(r.line_number, [r[n] for n in CUSTOMERS.names[1:]]) for r in rows] == expected
    assert (report.rows, report.parse_errors, report.blank_lines) == (len(expected), {}, 0)


def test_blank_lines_are_counted_and_kept_apart(spark, tmp_path):
    content = f"{HEADER}\n\nC1,Ann,ann@example.com,DE,2026-01-01T00:00:00Z\n   \n\nC2,Bo,bo@example.com,FR,2026-01-02\n"

    report, rows = land(spark, tmp_path, content.encode())

    assert [(r.line_number, r.parse_error) for r in rows] == [
        (2, "blank_line"),
        (3, None),
        (4, "blank_line"),
        (5, "blank_line"),
        (6, None),
    ]
    assert (report.rows, report.blank_lines, report.parse_errors) == (2, 3, {})


def test_another_delimiter_is_read_when_declared(spark, tmp_path):
    content = f"{HEADER.replace(',', ';')}\nC1;Lee, Ann;ann@example.com;DE;2026-01-01\n"

    report, rows = land(spark, tmp_path, content.encode(), CsvDialect(delimiter=";"))

    assert [r.name for r in rows] == ["Lee, Ann"] and report.parse_errors == {}


def test_a_declared_encoding_is_decoded_and_an_undeclared_one_is_invalid_utf8(spark, tmp_path):
    content = f"{HEADER}\nC1,Zoë Dupré,zoe@example.com,FR,2026-01-01\n".encode("latin-1")

    _, declared = land(spark, tmp_path / "declared", content, CsvDialect(encoding="latin-1"))
    report, undeclared = land(spark, tmp_path / "undeclared", content)

    assert declared[0].name == "Zoë Dupré" and declared[0].parse_error is None
    assert undeclared[0].parse_error == "invalid_utf8" and report.parse_errors == {"invalid_utf8": 1}


def test_extra_columns_are_kept_in_bronze_when_allowed(spark, tmp_path):
    content = f"Loyalty Tier,{HEADER}\ngold,C1,Ann,ann@example.com,DE,2026-01-01\n"

    _, rows = land(spark, tmp_path, content.encode(), CsvDialect(extra_columns=True))

    assert rows[0].extra == {"loyalty tier": "gold"} and rows[0].customer_id == "C1"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (f'{HEADER}\nC1,"Ann,ann@example.com,DE,2026-01-01\nC2,Bo,bo@example.com,FR,2026-01-02\n', "line 2"),
        (
            f'{HEADER}\nC1,Ann 5",ann@example.com,DE,2026-01-01\n' + "C2,Bo,b@x.io,FR,2026-01-02\n" * 1200 + 'C3,"\n',
            "over 1000 lines",
        ),
    ],
    ids=["a quote never closed", "a stray quote far from the next"],
)
def test_an_unbalanced_quote_rejects_the_file_naming_its_line(spark, tmp_path, content, says):
    with pytest.raises(CsvFileError) as rejected:
        land(spark, tmp_path, content.encode())

    assert says in str(rejected.value) and "export-customers.csv" in str(rejected.value)
    assert not (tmp_path / "lake" / "bronze").exists()


def test_a_file_read_in_many_splits_is_numbered_as_one(spark, tmp_path):
    """Small splits put row boundaries and multi-line fields across partitions; every row keeps its first line."""
    rng = random.Random(7)
    lines = [HEADER]
    for i in range(3000):
        name = rng.choice(["Ann", '"Lee, Ann"', '"Ann\nLee"', '"A ""B""\n\nC"', ""])
        lines.append(f"C{i},{name},c{i}@example.com,DE,2026-01-01T00:00:00Z")
        if i % 97 == 0:
            lines.append("")
    content = ("\n".join(lines) + "\n").encode()
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")
    try:
        report, rows = land(spark, tmp_path, content)
        partitions = spark.read.text(str(tmp_path / "export-customers.csv")).rdd.getNumPartitions()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")

    landed = [(r.line_number, [r[n] or "" for n in CUSTOMERS.names[1:]]) for r in rows if r.parse_error is None]
    assert partitions > 20
    assert landed == python_rows(content)
    assert report.blank_lines == 31 and report.rows == 3000
