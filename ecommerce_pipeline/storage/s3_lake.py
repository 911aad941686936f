"""The lake on S3: one bucket (or prefix) per layer, the same Hive layout and file name as the local lake.

``<layer uri>/<table>/year=YYYY/month=MM/day=DD/part-0.parquet``; quarantine tables live in the
bronze bucket under ``quarantine/`` (``<bronze uri>/quarantine/<table>/...``) because they hold raw,
possibly personal, values and share bronze's access rules.

A partition is replaced atomically for readers: the new file is PUT over ``part-0.parquet`` (an S3
PUT replaces an object whole, so a reader sees the old file or the new one), and only then are any
other objects left in the partition folder removed. Nothing is deleted before the new data is in place.
Object IO goes through awswrangler; Parquet is encoded by pyarrow exactly as the local lake does (Snappy),
so types such as timezone-aware timestamps and nullable integers survive the round trip unchanged.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from datetime import date

import awswrangler as wr
import boto3
import pyarrow as pa
import pyarrow.parquet as pq

from ecommerce_pipeline.storage.aws import join_uri
from ecommerce_pipeline.storage.lake import (
    PART_FILE,
    Lake,
    WriteStats,
    concat,
    parquet_bytes,
    partition_path,
    write_by_day,
)

_PARTITION = re.compile(r"/year=(\d{4})/month=(\d{2})/day=(\d{2})/")


def layer_uris(bronze: str, silver: str, gold: str) -> dict[str, str]:
    return {"bronze": bronze, "silver": silver, "gold": gold, "quarantine": join_uri(bronze, "quarantine")}


class S3Lake(Lake):
    def __init__(self, layers: dict[str, str], boto3_session: boto3.Session | None = None):
        missing = [layer for layer, uri in layers.items() if not uri]
        if missing:
            raise ValueError(f"no s3:// location configured for layer(s) {', '.join(missing)}")
        self.layers = layers
        self.session = boto3_session or boto3.Session()

    def table_location(self, table: str) -> str:
        layer, _, name = table.partition("/")
        if layer not in self.layers or not name:
            raise ValueError(f"{table!r} is not <layer>/<table> with a layer in {', '.join(self.layers)}")
        return join_uri(self.layers[layer], name) + "/"

    def partition_location(self, table: str, day: date) -> str:
        layer, _, _ = table.partition("/")
        return join_uri(self.layers[layer], partition_path(table.partition("/")[2], day)) + "/"

    def _file(self, table: str, day: date) -> str:
        return self.partition_location(table, day) + PART_FILE

    def write_partition(self, table: str, day: date, data: pa.Table) -> WriteStats:
        payload = parquet_bytes(data)
        return self._publish(table, day, io.BytesIO(payload), data.num_rows, len(payload))

    def write_batches(self, table: str, days: list[date], batches: pa.RecordBatchReader) -> list[WriteStats]:
        """Each day's batches go into a local temporary file as they arrive, which is then uploaded."""
        with ExitStack() as files:
            spools = {d: files.enter_context(tempfile.TemporaryFile()) for d in days}
            rows = write_by_day(batches, days, spools.__getitem__)
            written = []
            for day in days:
                size = spools[day].seek(0, io.SEEK_END)
                spools[day].seek(0)
                written.append(self._publish(table, day, spools[day], rows[day], size))
        return written

    def _publish(self, table: str, day: date, payload, rows: int, size: int) -> WriteStats:
        """PUT the partition's file over the old one, then remove anything else left in its folder."""
        target = self._file(table, day)
        wr.s3.upload(payload, target, use_threads=False, boto3_session=self.session)
        stale = [p for p in self._objects(self.partition_location(table, day)) if p != target]
        if stale:
            wr.s3.delete_objects(stale, use_threads=False, boto3_session=self.session)
        return WriteStats(rows=rows, bytes=size, location=target)

    def keep_file(self, path: str, data: bytes) -> str:
        layer, _, rest = path.partition("/")
        if layer not in self.layers or not rest:
            raise ValueError(f"{path!r} is not <layer>/<path> with a layer in {', '.join(self.layers)}")
        target = join_uri(self.layers[layer], rest)
        wr.s3.upload(io.BytesIO(data), target, use_threads=False, boto3_session=self.session)
        return target

    def read_partition(self, table: str, day: date, columns: Sequence[str] | None = None) -> pa.Table | None:
        path = self._file(table, day)
        if not wr.s3.does_object_exist(path, boto3_session=self.session):
            return None
        return self._read(path, columns)

    def read_partitions(
        self, table: str, days: Iterable[date], columns: Sequence[str] | None = None
    ) -> pa.Table | None:
        # One listing of the table instead of a request per day: history windows span years of days.
        wanted = set(days)
        parts = [self._read(path, columns) for day, path in self.partition_files(table) if day in wanted]
        return concat(parts) if parts else None

    def partition_files(self, table: str) -> list[tuple[date, str]]:
        """(day, file) of every partition of ``table`` on S3, in day order."""
        found = []
        for path in self._objects(self.table_location(table)):
            match = _PARTITION.search(path)
            if match and path.endswith("/" + PART_FILE):
                found.append((date(*map(int, match.groups())), path))
        return sorted(found)

    def staging_location(self, table: str, token: str) -> str:
        """A fresh folder beside the table's layer for files another engine writes before they are published;
        outside every table's location, so neither the lake nor Glue ever reads it."""
        layer, _, name = table.partition("/")
        return join_uri(self.layers[layer], "_staging", name, token) + "/"

    def read_folder(self, prefix: str) -> pa.Table | None:
        """Every Parquet file under ``prefix`` (hidden ``_``/``.`` names skipped) as one table."""
        parts = [
            self._read(path, None)
            for path in self._objects(prefix)
            if not path.rsplit("/", 1)[-1].startswith(("_", "."))
        ]
        return concat(parts) if parts else None

    def delete_folder(self, prefix: str) -> None:
        objects = self._objects(prefix)
        if objects:
            wr.s3.delete_objects(objects, use_threads=False, boto3_session=self.session)

    def _objects(self, prefix: str) -> list[str]:
        return list(wr.s3.list_objects(prefix, boto3_session=self.session))

    def _read(self, path: str, columns: Sequence[str] | None) -> pa.Table:
        buffer = io.BytesIO()
        wr.s3.download(path, buffer, use_threads=False, boto3_session=self.session)
        buffer.seek(0)
        if columns is not None:
            available = pq.read_schema(buffer).names
            columns = [c for c in columns if c in available]
            buffer.seek(0)
        return pq.read_table(buffer, columns=columns)
