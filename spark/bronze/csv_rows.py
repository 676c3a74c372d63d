"""A CSV file's logical rows, numbered without funnelling the file through one task.

Spark splits a text file into byte ranges read in parallel, one partition each. A line's number is its position in
its partition plus the lines of the partitions before it (one small aggregate, collected on the driver). RFC 4180
lets a quoted field hold line breaks: a row then spans several physical lines, and only lines with an odd number of
quote characters open or close such a field. Those few lines come to the driver in the same pass, which pairs them
into the line ranges of multi-line rows; only lines in such a range are grouped back into one row (line breaks
become a newline), numbered by their first line. Everything else stays where Spark read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame, SparkSession

from spark.bronze.csv_header import RFC4180, CsvDialect

MAX_ROW_LINES = 1000  # a quoted field longer than this is a stray quote, not a real multi-line value
_POSITION_BITS = 33  # monotonically_increasing_id: partition index above these bits, position within below


class UnbalancedQuoteError(ValueError):
    """A quote that opens a field never closed (or closed so far away that it cannot be a real field)."""


@dataclass(frozen=True)
class _Part:
    index: int
    lines: int
    start: int
    odd: list[int]  # positions (within the split) of lines with an odd number of quotes


def logical_rows(spark: SparkSession, path: str, dialect: CsvDialect = RFC4180) -> DataFrame:
    """Returns one row per logical CSV row of the file at ``path``: ``value`` (its text, decoded from the dialect's
    encoding) and ``line_number`` (its first physical line; the header is line 1). Raises UnbalancedQuoteError
    for a quoted field left open (naming its line); nothing has been written then."""
    text = F.col("value") if dialect.is_utf8 else F.decode(F.col("value").cast("binary"), dialect.charset)
    lines = spark.read.text(path).select(
        text.alias("value"),
        F.spark_partition_id().alias("_part"),
        F.monotonically_increasing_id().bitwiseAND((1 << _POSITION_BITS) - 1).alias("_position"),
        F.input_file_block_start().alias("_start"),
    )
    odd = _quote_count(F.col("value")) % 2 == 1
    # One pass: each split's line count, where it starts in the file, and its lines that open or close a field.
    parts = sorted(
        (
            _Part(r["_part"], r["lines"], r["start"], r["odd"])
            for r in lines.groupBy("_part")
            .agg(
                F.count("*").alias("lines"),
                F.min("_start").alias("start"),
                F.collect_list(F.when(odd, F.col("_position"))).alias("odd"),
            )
            .collect()
        ),
        key=lambda p: p.start,  # byte ranges in file order
    )
    if not parts:  # an empty file
        return spark.createDataFrame([], "value string, line_number long")
    first_line, before = {}, 1
    for part in parts:
        first_line[part.index], before = before, before + part.lines
    first = F.element_at(F.create_map(*(F.lit(x) for kv in first_line.items() for x in kv)), F.col("_part"))
    numbered = lines.select("value", (first + F.col("_position")).cast("long").alias("line_number"))
    opening_and_closing = sorted(first_line[p.index] + position for p in parts for position in p.odd)
    if not opening_and_closing:
        return numbered  # no quoted field spans lines: every line is a row
    spans = _multi_line_spans(opening_and_closing)
    members = spark.createDataFrame(
        [(line, start) for start, end in spans for line in range(start, end + 1)], "line_number long, _row long"
    )
    tagged = numbered.join(F.broadcast(members), "line_number", "left")
    single = tagged.where(F.col("_row").isNull()).select("value", "line_number")
    ordered = F.array_sort(F.collect_list(F.struct("line_number", "value")))
    multi = (
        tagged.where(F.col("_row").isNotNull())
        .groupBy("_row")
        .agg(F.array_join(F.transform(ordered, lambda line: line["value"]), "\n").alias("value"))
    )
    return single.unionByName(multi.select("value", F.col("_row").alias("line_number")))


def _quote_count(value: Column) -> Column:
    return F.length(value) - F.length(F.replace(value, F.lit('"'), F.lit("")))


def _multi_line_spans(odd_lines: list[int]) -> list[tuple[int, int]]:
    """Pairs the lines with an odd number of quotes, in file order, into (first, last) line ranges of rows whose
    quoted field spans lines: the first of a pair opens a field, the second closes it."""
    if len(odd_lines) % 2:
        raise UnbalancedQuoteError(
            f'the quoted field opened on line {odd_lines[-1]} is never closed (a stray " in an unquoted field?)'
        )
    spans = list(zip(odd_lines[::2], odd_lines[1::2], strict=True))
    for start, end in spans:
        if end - start >= MAX_ROW_LINES:
            raise UnbalancedQuoteError(
                f"the quoted field opened on line {start} runs to line {end}, over {MAX_ROW_LINES} lines "
                '(a stray " in an unquoted field?)'
            )
    return spans
