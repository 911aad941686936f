"""Where lake tables live: one Parquet file per table and business day, in the Hive layout.

``<root>/<layer>/<table>/year=YYYY/month=MM/day=DD/part-0.parquet``. A partition is replaced
atomically: the new file is written beside the old one under a hidden name and renamed over it,
so a reader (or a crash) sees either the old partition or the new one, never a mix.
"""

from __future__ import annotations

import io
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"


@dataclass(frozen=True)
class WriteStats:
    rows: int
    bytes: int
    location: str


def partition_path(table: str, day: date) -> str:
    return f"{table}/year={day.year:04d}/month={day.month:02d}/day={day.day:02d}"


def _prunes(field: pa.Field) -> bool:
    """Min/max statistics prune row groups on dates, numbers and times; on unsorted text they only cost time."""
    t = field.type
    return not (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_dictionary(t)
        or pa.types.is_nested(t)
    )


ROW_GROUP_ROWS = 1 << 20


def parquet_writer(sink, schema: pa.Schema) -> pq.ParquetWriter:
    """Snappy Parquet, statistics on the columns they help; timestamps stored in milliseconds.

    Athena (and Glue's ``timestamp`` type) promise millisecond precision, so every timestamp column is written
    as ``TIMESTAMP(MILLIS)``; sub-millisecond digits (only ``_ingested_at`` has any) are dropped, not refused.
    Read back, the columns are ``timestamp[ms, tz=UTC]``, equal in value to the microsecond ones they came from.
    """
    return pq.ParquetWriter(
        sink,
        schema,
        compression="snappy",
        write_statistics=[f.name for f in schema if _prunes(f)],
        coerce_timestamps="ms",
        allow_truncated_timestamps=True,
    )


def write_parquet(data: pa.Table, sink) -> None:
    with parquet_writer(sink, data.schema) as writer:
        writer.write_table(data, row_group_size=ROW_GROUP_ROWS)


def parquet_bytes(data: pa.Table) -> bytes:
    sink = io.BytesIO()
    write_parquet(data, sink)
    return sink.getvalue()


def write_by_day(batches: pa.RecordBatchReader, days: list[date], sink: Callable[[date], BinaryIO]) -> dict[date, int]:
    """Write each batch's rows as Parquet into the file ``sink(day)`` of their day (every day gets one, rows
    or not) and finish the files; returns the rows written a day."""
    rows = dict.fromkeys(days, 0)
    with ExitStack() as writers:
        by_day = {d: writers.enter_context(parquet_writer(sink(d), batches.schema)) for d in days}
        for batch in batches:
            for day, part in split_by_day(pa.Table.from_batches([batch]), days).items():
                if part.num_rows:
                    by_day[day].write_table(part, row_group_size=ROW_GROUP_ROWS)
                    rows[day] += part.num_rows
    return rows


def split_by_day(data: pa.Table, days: list[date]) -> dict[date, pa.Table]:
    """One table per requested day; rows dated outside the requested days are an error, never dropped."""
    if len(days) == 1 and "business_date" not in data.column_names:
        return {days[0]: data}
    dates = data.column("business_date")
    stray = set(pc.unique(dates).to_pylist()) - set(days)
    if stray:
        raise ValueError(f"rows dated {sorted(stray)} are outside the partitions being written {days[0]}..{days[-1]}")
    if len(days) == 1:
        return {days[0]: data}
    return {d: data.filter(pc.equal(dates, pa.scalar(d, pa.date32()))) for d in days}


def concat(tables: Sequence[pa.Table]) -> pa.Table:
    """One table from several partitions, which may come from different versions of the pipeline.

    Partitions written before an additive schema change lack the new columns: they are filled with
    nulls. A column stored dictionary-encoded in some partitions and plain in others is read plain.
    """
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        plain = {f.name for t in tables for f in t.schema if not pa.types.is_dictionary(f.type)}
        return pa.concat_tables([_decode(t, plain) for t in tables], promote_options="permissive")


def _decode(table: pa.Table, names: set[str]) -> pa.Table:
    for i, f in enumerate(table.schema):
        if f.name in names and pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(f.type.value_type))
    return table


class Lake(ABC):
    """A store of daily-partitioned Parquet tables. ``table`` is a path such as ``silver/orders_validated``."""

    @abstractmethod
    def write_partition(self, table: str, day: date, data: pa.Table) -> WriteStats: ...

    @abstractmethod
    def read_partition(self, table: str, day: date, columns: Sequence[str] | None = None) -> pa.Table | None: ...

    def write_batches(self, table: str, days: list[date], batches: pa.RecordBatchReader) -> list[WriteStats]:
        """Write a stream of rows dated within ``days``, one partition a day (every day gets one, maybe empty).
        Here the stream is collected first; a lake that can write as rows arrive overrides this."""
        parts = split_by_day(batches.read_all(), days)
        return [self.write_partition(table, day, parts[day]) for day in days]

    @abstractmethod
    def table_location(self, table: str) -> str:
        """A location a query engine can scan (a folder or an s3:// prefix)."""

    def read_partitions(
        self, table: str, days: Iterable[date], columns: Sequence[str] | None = None
    ) -> pa.Table | None:
        parts = [t for d in days if (t := self.read_partition(table, d, columns)) is not None]
        return concat(parts) if parts else None

    def partition_schema(self, table: str, day: date) -> pa.Schema | None:
        data = self.read_partition(table, day)
        return None if data is None else data.schema

    def iter_partition(
        self, table: str, day: date, rows: int, columns: Sequence[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        data = self.read_partition(table, day, columns)
        if data is not None:
            yield from data.to_batches(max_chunksize=rows)

    def keep_file(self, path: str, data: bytes) -> str:
        """Store a file's bytes as they are (an unreadable landing file kept in quarantine); returns its location."""
        raise NotImplementedError(f"{type(self).__name__} cannot keep files")

    def partition_rows(self, table: str, day: date) -> int:
        data = self.read_partition(table, day, [])
        return 0 if data is None else data.num_rows


class PartitionScan:
    """A range of a table's partitions read lazily: a few columns at a time, or every column a batch at a
    time in row order, so a table too large to hold is never read whole (a ``TableSource``)."""

    def __init__(self, lake: Lake, table: str, days: list[date]):
        self.lake, self.table = lake, table
        self.schemas = {d: s for d in days if (s := lake.partition_schema(table, d)) is not None}
        self.days = list(self.schemas)

    @property
    def schema(self) -> pa.Schema:
        """The first partition's columns; a column plain in any partition is plain (as ``concat`` reads it)."""
        first, *rest = self.schemas.values()
        plain = {f.name: f for s in rest for f in s if not pa.types.is_dictionary(f.type)}
        return pa.schema([plain.get(f.name, f) if pa.types.is_dictionary(f.type) else f for f in first])

    def columns(self, names: list[str]) -> pa.Table:
        data = self.lake.read_partitions(self.table, self.days, names)
        return data.select(names) if data is not None else self.schema.empty_table().select(names)

    def batches(self, rows: int, names: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        for day in self.days:
            yield from self.lake.iter_partition(self.table, day, rows, names)

    def of_days(self, days: list[date], names: list[str] | None = None) -> pa.Table:
        """The rows of some of the days, all columns or ``names``."""
        data = self.lake.read_partitions(self.table, [d for d in days if d in self.schemas], names)
        return data if data is not None else self.schema.empty_table()


def day_chunks(scans: list[PartitionScan], days: list[date], max_rows: int) -> Iterator[list[date]]:
    """Consecutive runs of ``days`` whose rows in ``scans`` add up to about ``max_rows`` (at least one day each):
    a long single-run backfill is processed a few days at a time, each chunk as if it were its own run."""
    chunk, rows = [], 0
    for day in days:
        day_rows = sum(s.lake.partition_rows(s.table, day) for s in scans if day in s.schemas)
        if chunk and rows + day_rows > max_rows:
            yield chunk
            chunk, rows = [], 0
        chunk.append(day)
        rows += day_rows
    if chunk:
        yield chunk


def quarantined_file_path(entity: str, day: date, name: str) -> str:
    """``quarantine/files/<entity>/<YYYY-MM-DD>/<path in the day folder>``: where an unreadable landing file is
    kept whole. The path below the day folder is kept (``region=eu/part-0.csv.gz`` and ``region=us/part-0.csv.gz``
    are two files), as is an archive member's ``archive.zip!member`` name."""
    folder = f"{entity}/{day.isoformat()}/"
    relative = name[len(folder) :] if name.startswith(folder) else name.rsplit("/", 1)[-1]
    return f"quarantine/files/{folder}{relative}"


def _temp_name(target: Path) -> Path:
    # The writer's pid in the name lets a later writer tell a crashed writer's leftovers from live work.
    return target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"


def _writer_is_gone(temp: Path) -> bool:
    try:
        pid = int(temp.name.split(".")[-3])
    except (ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return False


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete hidden temp files left by writers that died mid-write (readers never see them anyway)."""
    removed = []
    for temp in folder.glob(".*.tmp"):
        if _writer_is_gone(temp):
            temp.unlink(missing_ok=True)
            removed.append(temp)
    return removed


@contextmanager
def _atomic_file(target: Path) -> Iterator[BinaryIO]:
    """A hidden file beside the target, fsynced and renamed over it when the block succeeds, removed when it
    fails: readers see the old file or the new one, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(target.parent)
    tmp = _temp_name(target)
    try:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)


class LocalLake(Lake):
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _file(self, table: str, day: date) -> Path:
        return self.root / partition_path(table, day) / PART_FILE

    def write_partition(self, table: str, day: date, data: pa.Table) -> WriteStats:
        target = self._file(table, day)
        with _atomic_file(target) as fh:
            write_parquet(data, fh)
        return WriteStats(rows=data.num_rows, bytes=target.stat().st_size, location=str(target))

    def write_batches(self, table: str, days: list[date], batches: pa.RecordBatchReader) -> list[WriteStats]:
        """Each batch goes straight into its day's file: the whole table is never in memory."""
        with ExitStack() as files:
            rows = write_by_day(batches, days, lambda day: files.enter_context(_atomic_file(self._file(table, day))))
        return [
            WriteStats(rows=rows[d], bytes=self._file(table, d).stat().st_size, location=str(self._file(table, d)))
            for d in days
        ]

    def keep_file(self, path: str, data: bytes) -> str:
        target = self.root / path
        with _atomic_file(target) as fh:
            fh.write(data)
        return str(target)

    def partition_schema(self, table: str, day: date) -> pa.Schema | None:
        path = self._file(table, day)
        return pq.read_schema(path) if path.exists() else None

    def partition_rows(self, table: str, day: date) -> int:
        path = self._file(table, day)
        return pq.read_metadata(path).num_rows if path.exists() else 0

    def iter_partition(
        self, table: str, day: date, rows: int, columns: Sequence[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        path = self._file(table, day)
        if path.exists():
            yield from pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns)

    def read_partition(self, table: str, day: date, columns: Sequence[str] | None = None) -> pa.Table | None:
        # The file is opened and its footer read once: ``pq.read_table`` goes through a dataset, about 3 ms a
        # file on small files, which a year's backfill reading 361 days of two tables paid 722 times.
        try:
            file = pq.ParquetFile(self._file(table, day))
        except FileNotFoundError:
            return None
        with file:
            if columns is not None:
                available = file.schema_arrow.names
                columns = [c for c in columns if c in available]
            return file.read(columns=columns)

    def table_location(self, table: str) -> str:
        return str((self.root / table).resolve())

    def has_data(self, table: str) -> bool:
        return any((self.root / table).glob(f"year=*/month=*/day=*/{PART_FILE}"))


class MemoryLake(Lake):
    """Keeps tables in memory: the backend of the in-memory IO manager used by fast tests."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, date], pa.Table] = {}
        self.files: dict[str, bytes] = {}

    def write_partition(self, table: str, day: date, data: pa.Table) -> WriteStats:
        self.tables[(table, day)] = data
        return WriteStats(rows=data.num_rows, bytes=data.nbytes, location=f"memory://{partition_path(table, day)}")

    def read_partition(self, table: str, day: date, columns: Sequence[str] | None = None) -> pa.Table | None:
        data = self.tables.get((table, day))
        if data is None or columns is None:
            return data
        return data.select([c for c in columns if c in data.column_names])

    def table_location(self, table: str) -> str:
        return f"memory://{table}"

    def keep_file(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return f"memory://{path}"
