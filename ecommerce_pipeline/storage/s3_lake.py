"""The lake on S3: one bucket (or prefix) per layer, the same Hive layout and file name as the local lake.

``<layer uri>/<table>/year=YYYY/month=MM/day=DD/part-0.parquet``; quarantine tables live in the
bronze bucket under ``quarantine/`` (``<bronze uri>/quarantine/<table>/...``) because they hold raw,
possibly personal, values and share bronze's access rules.

A partition is replaced atomically for readers: the new file is PUT over ``part-0.parquet`` (an S3
PUT replaces an object whole, so a reader sees the old file or the new one), and only then are any
other objects left in the partition folder removed. Nothing is deleted before the new data is in place.
Writes, listings and deletes go through awswrangler; Parquet is encoded by pyarrow exactly as the local lake
does (Snappy), so types such as timezone-aware timestamps and nullable integers survive the round trip unchanged.

Reads go through pyarrow's own S3 filesystem, by byte ranges as the local lake reads its files: a file's
footer, then only the column chunks asked for, one row group at a time when streamed. A lake object keeps
each object's footer and the last 64 KiB it was read from (``kept_io``; all of a small object), and answers
the column chunks that lie in them from memory, so the several reads a step makes of one input (schema, row
counts, key columns, the rows) fetch each object's footer once and no byte of an object twice. An object
replaced in the meantime (another size or time) is read again.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ecommerce_pipeline.storage.aws import MAX_ATTEMPTS, join_uri, wrangler
from ecommerce_pipeline.storage.aws import session as aws_session
from ecommerce_pipeline.storage.kept_io import FOOTER_READ, open_kept, read_tail
from ecommerce_pipeline.storage.lake import (
    PART_FILE,
    Lake,
    WriteStats,
    concat,
    parquet_bytes,
    partition_path,
    write_by_day,
)

if TYPE_CHECKING:
    import boto3

_PARTITION = re.compile(r"/year=(\d{4})/month=(\d{2})/day=(\d{2})/")

# pyarrow reads a Parquet file's last 64 KiB to find its footer: a smaller object is fetched whole by that read.
SMALL_OBJECT = FOOTER_READ
# What one lake object keeps of objects' last bytes (all of a small object), at most.
KEPT_BYTES = 64 * 1024 * 1024


def s3_filesystem(aws: boto3.Session) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem with the session's credentials and region, at the endpoint boto3's S3 clients use
    (``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_S3`` or the profile's ``endpoint_url``: a moto server, LocalStack),
    retrying like them. The credentials are the session's current ones: a lake object lives for one read of a
    step's input, well within a temporary credential's life."""
    credentials = aws.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    endpoint = aws.client("s3").meta.endpoint_url
    host = urlparse(endpoint).hostname or ""
    return pafs.S3FileSystem(
        access_key=frozen.access_key if frozen else None,
        secret_key=frozen.secret_key if frozen else None,
        session_token=frozen.token if frozen else None,
        region=aws.region_name,
        endpoint_override=None if host.endswith((".amazonaws.com", ".amazonaws.com.cn")) else endpoint,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=MAX_ATTEMPTS),
    )


def _key(uri: str) -> str:
    """``s3://bucket/key`` as pyarrow's filesystems name it: ``bucket/key``."""
    return uri.removeprefix("s3://")


def layer_uris(bronze: str | None, silver: str | None, gold: str | None) -> dict[str, str | None]:
    """Each layer's location (``None`` where unset, which ``S3Lake`` refuses), quarantine inside bronze."""
    quarantine = join_uri(bronze, "quarantine") if bronze else None
    return {"bronze": bronze, "silver": silver, "gold": gold, "quarantine": quarantine}


class S3Lake(Lake):
    def __init__(
        self,
        layers: dict[str, str],
        boto3_session: boto3.Session | None = None,
        filesystem: pafs.FileSystem | None = None,
    ):
        """``filesystem``: what objects are read through (by default ``s3_filesystem`` of the session)."""
        missing = [layer for layer, uri in layers.items() if not uri]
        if missing:
            raise ValueError(f"no s3:// location configured for layer(s) {', '.join(missing)}")
        self.layers = layers
        self.session = boto3_session or aws_session()
        self._filesystem = filesystem
        # object key -> ((size, modified), its footer, its last 64 KiB: all of a small object; empty once
        # KEPT_BYTES of them are kept)
        self._seen: dict[str, tuple[tuple, pq.FileMetaData, pa.Buffer]] = {}
        self._kept_bytes = 0

    @property
    def filesystem(self) -> pafs.FileSystem:
        if self._filesystem is None:
            self._filesystem = s3_filesystem(self.session)
        return self._filesystem

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
        wrangler().s3.upload(payload, target, use_threads=False, boto3_session=self.session)
        self._forget(_key(target))
        stale = [p for p in self._objects(self.partition_location(table, day)) if p != target]
        if stale:
            wrangler().s3.delete_objects(stale, use_threads=False, boto3_session=self.session)
        return WriteStats(rows=rows, bytes=size, location=target)

    def keep_file(self, path: str, data: bytes) -> str:
        layer, _, rest = path.partition("/")
        if layer not in self.layers or not rest:
            raise ValueError(f"{path!r} is not <layer>/<path> with a layer in {', '.join(self.layers)}")
        target = join_uri(self.layers[layer], rest)
        wrangler().s3.upload(io.BytesIO(data), target, use_threads=False, boto3_session=self.session)
        return target

    def read_partition(self, table: str, day: date, columns: Sequence[str] | None = None) -> pa.Table | None:
        info = self._stat(self._file(table, day))
        return None if info is None else self._read(info, columns)

    def read_partitions(
        self, table: str, days: Iterable[date], columns: Sequence[str] | None = None
    ) -> pa.Table | None:
        # One listing of the table instead of a request per day: history windows span years of days.
        wanted = set(days)
        parts = [self._read(info, columns) for day, info in self._partitions(table) if day in wanted]
        return concat(parts) if parts else None

    def partition_schema(self, table: str, day: date) -> pa.Schema | None:
        info = self._stat(self._file(table, day))
        return None if info is None else self._parquet(info).schema_arrow

    def partition_rows(self, table: str, day: date) -> int:
        info = self._stat(self._file(table, day))
        return 0 if info is None else self._parquet(info).metadata.num_rows

    def iter_partition(
        self, table: str, day: date, rows: int, columns: Sequence[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        info = self._stat(self._file(table, day))
        if info is None:
            return
        parquet = self._parquet(info, pre_buffer=True)
        # A row group at a time: its column chunks are fetched together, never the whole file at once.
        for group in range(parquet.num_row_groups):
            yield from parquet.iter_batches(batch_size=rows, row_groups=[group], columns=columns)

    def partition_files(self, table: str) -> list[tuple[date, str]]:
        """(day, file) of every partition of ``table`` on S3, in day order."""
        return [(day, f"s3://{info.path}") for day, info in self._partitions(table)]

    def _partitions(self, table: str) -> list[tuple[date, pafs.FileInfo]]:
        found = []
        for info in self._listing(self.table_location(table)):
            match = _PARTITION.search(info.path)
            if match and info.path.endswith("/" + PART_FILE):
                found.append((date(*map(int, match.groups())), info))
        return sorted(found, key=lambda found: found[0])

    def staging_location(self, table: str, token: str) -> str:
        """A fresh folder beside the table's layer for files another engine writes before they are published;
        outside every table's location, so neither the lake nor Glue ever reads it."""
        layer, _, name = table.partition("/")
        return join_uri(self.layers[layer], "_staging", name, token) + "/"

    def read_folder(self, prefix: str) -> pa.Table | None:
        """Every Parquet file under ``prefix`` (hidden ``_``/``.`` names skipped) as one table."""
        parts = [self._read(info, None) for info in self._listing(prefix) if not info.base_name.startswith(("_", "."))]
        return concat(parts) if parts else None

    def delete_folder(self, prefix: str) -> None:
        objects = self._objects(prefix)
        if objects:
            wrangler().s3.delete_objects(objects, use_threads=False, boto3_session=self.session)

    def _objects(self, prefix: str) -> list[str]:
        return list(wrangler().s3.list_objects(prefix, boto3_session=self.session))

    def _listing(self, prefix: str) -> list[pafs.FileInfo]:
        """Every object under ``prefix``, with its size and time (one listing, no request per object)."""
        selector = pafs.FileSelector(_key(prefix), recursive=True, allow_not_found=True)
        return [i for i in self.filesystem.get_file_info(selector) if i.type == pafs.FileType.File]

    def _stat(self, uri: str) -> pafs.FileInfo | None:
        info = self.filesystem.get_file_info(_key(uri))
        return info if info.type == pafs.FileType.File else None

    def _parquet(self, info: pafs.FileInfo, pre_buffer: bool = False) -> pq.ParquetFile:
        """The object as a Parquet file, its last 64 KiB (its footer, or all of a small object) fetched once for
        this lake object: the footer is read from them, and so are the column chunks that lie in them, so no
        byte of the object is fetched twice. ``pre_buffer``: each read fetches the column chunks it needs in a
        few coalesced ranges."""
        version = (info.size, int(info.mtime.timestamp()) if info.mtime else None)
        seen = self._seen.get(info.path)
        if seen is None or seen[0] != version:
            source = self.filesystem.open_input_file(info.path)
            metadata, tail = None, read_tail(source, info.size)
        else:
            _, metadata, tail = seen
            source = self.filesystem.open_input_file(info.path) if tail.size < info.size else None
        opened = pq.ParquetFile(
            open_kept(source, info.size, tail) if tail.size else source, metadata=metadata, pre_buffer=pre_buffer
        )
        if metadata is None:
            self._keep(info.path, (version, opened.metadata, tail))
        return opened

    def _keep(self, path: str, seen: tuple[tuple, pq.FileMetaData, pa.Buffer]) -> None:
        """Keep an object's footer, and its last bytes while ``KEPT_BYTES`` allows (else a later read of the
        columns in them fetches them again: never more than 64 KiB of an object)."""
        self._forget(path)
        version, metadata, tail = seen
        if self._kept_bytes + tail.size > KEPT_BYTES:
            tail = pa.py_buffer(b"")
        self._seen[path] = (version, metadata, tail)
        self._kept_bytes += tail.size

    def _forget(self, path: str) -> None:
        previous = self._seen.pop(path, None)
        if previous is not None:
            self._kept_bytes -= previous[2].size

    def _read(self, info: pafs.FileInfo, columns: Sequence[str] | None) -> pa.Table:
        parquet = self._parquet(info, pre_buffer=True)
        if columns is not None:
            available = parquet.schema_arrow.names
            columns = [c for c in columns if c in available]
        return parquet.read(columns=columns)
