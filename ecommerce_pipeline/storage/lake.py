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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"


@dataclass(frozen=True)
class WriteStats:
    rows: int
    bytes: int
    location: str


def partition_path(table: str, day: date) -> str:
    return f"{table}/year={day.year:04d}/month={day.month:02d}/day={day.day:02d}"


def _parquet_bytes(data: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(data, sink, compression="snappy", row_group_size=1 << 20)
    return sink.getvalue()


def concat(tables: Sequence[pa.Table]) -> pa.Table:
    # Partitions written before an additive schema change lack the new columns: fill them with nulls.
    return pa.concat_tables(tables, promote_options="permissive")


class Lake(ABC):
    """A store of daily-partitioned Parquet tables. ``table`` is a path such as ``silver/orders_validated``."""

    @abstractmethod
    def write_partition(self, table: str, day: date, data: pa.Table) -> WriteStats: ...

    @abstractmethod
    def read_partition(self, table: str, day: date, columns: Sequence[str] | None = None) -> pa.Table | None: ...

    @abstractmethod
    def table_location(self, table: str) -> str:
        """A location a query engine can scan (a folder or an s3:// prefix)."""

    def read_partitions(
        self, table: str, days: Iterable[date], columns: Sequence[str] | None = None
    ) -> pa.Table | None:
        parts = [t for d in days if (t := self.read_partition(table, d, columns)) is not None]
        return concat(parts) if parts else None


class LocalLake(Lake):
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _file(self, table: str, day: date) -> Path:
        return self.root / partition_path(table, day) / PART_FILE

    def write_partition(self, table: str, day: date, data: pa.Table) -> WriteStats:
        target = self._file(table, day)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{PART_FILE}.{uuid.uuid4().hex}.tmp"
        payload = _parquet_bytes(data)
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        return WriteStats(rows=data.num_rows, bytes=len(payload), location=str(target))

    def read_partition(self, table: str, day: date, columns: Sequence[str] | None = None) -> pa.Table | None:
        path = self._file(table, day)
        if not path.exists():
            return None
        if columns is not None:
            available = pq.read_schema(path).names
            columns = [c for c in columns if c in available]
        return pq.read_table(path, columns=columns)

    def table_location(self, table: str) -> str:
        return str((self.root / table).resolve())

    def has_data(self, table: str) -> bool:
        return any((self.root / table).glob(f"year=*/month=*/day=*/{PART_FILE}"))


class MemoryLake(Lake):
    """Keeps tables in memory: the backend of the in-memory IO manager used by fast tests."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, date], pa.Table] = {}

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
