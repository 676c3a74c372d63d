"""Files on the lake's filesystem (HDFS, or a local folder) through Spark's Hadoop client: the one module that
touches Spark's JVM gateway, and the one writer of partitioned Parquet batches. Small files the driver makes itself
(state deltas, per-batch counts) go through here as whole files, without a Spark job."""

from __future__ import annotations

import tempfile
from datetime import date
from functools import reduce
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession

ROWS_PER_FILE = 20_000  # rows one task writes into a partition folder before another task (and file) helps
DRIVER_ROWS = 64_000  # a batch of at most this many rows comes to the driver, which writes it (``write_partitions``)
DRIVER_FILE = "part-00000-driver.snappy.parquet"  # the one file of a partition the driver writes
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # the folder name of a null partition value, as Spark names it
# Parquet as Spark writes it, so one dataset can hold files of both writers: timestamps as INT96, decimals as integers.
SPARK_PARQUET = {"use_deprecated_int96_timestamps": True, "store_decimal_as_integer": True}


def file_partitions(rows: int, slots: int) -> int:
    """Returns how many Spark partitions ``rows`` rows take on their way to Parquet: one per ``ROWS_PER_FILE``, at
    least one and at most ``slots``. Each is a task in every job over them (a task ships the job's whole plan, a
    large one for silver's rules) and a file in each partition folder it writes: a small batch in one."""
    return max(1, min(slots, -(-rows // ROWS_PER_FILE)))


def replace_partitions(frame: DataFrame, root: str, partitions: tuple[str, ...]) -> None:
    """Writes ``frame`` as Parquet under ``root`` partitioned by ``partitions``, replacing exactly the partitions it
    writes (dynamic overwrite): a replayed batch, keyed by its batch id, replaces itself and adds nothing."""
    frame.write.mode("overwrite").option("partitionOverwriteMode", "dynamic").partitionBy(*partitions).parquet(root)


_TAKEN = ("FileAlreadyExistsException", "AlreadyBeingCreatedException")


def _write_and_close(out, text: str) -> None:
    try:
        out.write(bytearray(text.encode()))
    finally:
        out.close()


class Lake:
    """The Hadoop filesystem of the driver's Spark session, for paths given as URIs (``hdfs://...``, ``file:/...``)."""

    def __init__(self, spark: SparkSession) -> None:
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _path(self, uri: str):
        return self._jvm.org.apache.hadoop.fs.Path(uri)

    def _fs(self, uri: str):
        return self._path(uri).getFileSystem(self._conf)

    def exists(self, uri: str) -> bool:
        """Returns whether the path exists."""
        return bool(self._fs(uri).exists(self._path(uri)))

    def glob(self, pattern: str) -> list[str]:
        """Returns the URIs matching a glob pattern (empty when none)."""
        found = self._fs(pattern).globStatus(self._path(pattern))
        return [str(status.getPath().toString()) for status in found or []]

    def names(self, folder: str) -> list[str]:
        """Returns the names of the entries of ``folder``, sorted (empty when it does not exist)."""
        if not self.exists(folder):
            return []
        return sorted(str(s.getPath().getName()) for s in self._fs(folder).listStatus(self._path(folder)))

    def put(self, local: Path, uri: str) -> None:
        """Copies a local file to ``uri`` atomically: readers see the whole file or none (replacing an old one)."""
        fs = self._fs(uri)
        staged = self._path(f"{uri}._staging")
        fs.copyFromLocalFile(False, True, self._path(str(local.resolve())), staged)
        fs.delete(self._path(uri), False)
        if not fs.rename(staged, self._path(uri)):
            raise OSError(f"could not move {staged} to {uri}")

    def delete(self, uri: str) -> None:
        """Removes a file or a folder with what is in it."""
        self._fs(uri).delete(self._path(uri), True)

    def create_exclusive(self, uri: str, text: str) -> bool:
        """Creates a small text file at ``uri`` unless one exists (one atomic step); returns whether it did."""
        try:
            out = self._fs(uri).create(self._path(uri), False)
        except Py4JJavaError as err:
            # It exists, or another client is creating it right now (HDFS: AlreadyBeingCreatedException).
            if any(name in str(err.java_exception.toString()) for name in _TAKEN):
                return False
            raise
        _write_and_close(out, text)
        return True

    def write_text(self, uri: str, text: str) -> None:
        """Writes a small text file at ``uri``, replacing one that is there."""
        _write_and_close(self._fs(uri).create(self._path(uri), True), text)

    def read_text(self, uri: str) -> str:
        """Returns the text of a small file; raises FileNotFoundError when there is none, and OSError when the
        filesystem cannot say (an HDFS outage is not an absent file)."""
        try:
            stream = self._fs(uri).open(self._path(uri))
        except Py4JJavaError as err:
            error = err.java_exception
            if error.getClass().getName() == "java.io.FileNotFoundException":
                raise FileNotFoundError(uri) from err
            raise OSError(f"could not read {uri}: {error.toString()}") from err
        try:
            return str(self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()

    def write_table(self, table: pa.Table, uri: str, **options) -> None:
        """Writes one Parquet file at ``uri`` from the driver (replacing an earlier one); ``options`` go to
        ``pyarrow.parquet.write_table``."""
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "part.parquet"
            pq.write_table(table, local, **options)
            self.put(local, uri)

    def write_partitions(self, table: pa.Table, root: str, partitions: tuple[str, ...]) -> None:
        """Writes ``table`` from the driver as Parquet under ``root`` partitioned by ``partitions`` (hive-style
        folders named as Spark names them), one file per partition folder, replacing exactly the partitions it
        holds: the driver's counterpart of ``replace_partitions`` for a batch small enough to come to the driver. A
        reader sees each folder's old file or its new one, never neither; files are written as Spark writes them."""
        columns = list(partitions)
        data = table.drop_columns(columns)
        for values in table.select(columns).group_by(columns).aggregate([]).to_pylist():
            held = reduce(
                pc.and_,
                (pc.is_null(table[c]) if v is None else pc.equal(table[c], v) for c, v in values.items()),
            )
            folder = "/".join([root, *(f"{c}={self._folder_value(v)}" for c, v in values.items())])
            self.write_table(data.filter(held), f"{folder}/{DRIVER_FILE}", **SPARK_PARQUET)
            for name in self.names(folder):  # an earlier attempt's files, when Spark's executors wrote it
                if name != DRIVER_FILE and not name.startswith((".", "_")):  # (a checksum file goes with its file)
                    self.delete(f"{folder}/{name}")

    def _folder_value(self, value) -> str:
        if value is None:
            return NULL_PARTITION
        text = value.isoformat() if isinstance(value, date) else str(value)
        return str(self._jvm.org.apache.spark.sql.catalyst.catalog.ExternalCatalogUtils.escapePathName(text))

    def read_tables(self, uris: list[str]) -> list[pa.Table]:
        """Reads whole Parquet files into the driver."""
        tables = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, uri in enumerate(uris):
                local = Path(tmp) / f"{i}.parquet"
                self._fs(uri).copyToLocalFile(False, self._path(uri), self._path(str(local)), True)
                tables.append(pq.read_table(local))
        return tables
