"""Silver and gold tables as Apache Iceberg tables (pyiceberg): atomic restatements, schema evolution,
time travel.

A table ``<layer>/<name>`` is the Iceberg table ``<layer>.<name>`` (on Glue: ``<database>.<layer>_<name>``),
stored under ``<root>/<layer>/<name>/``. Fact tables are partitioned by one date column (the date the row
describes); a restatement replaces every row of some dates in one commit, so a reader sees the old dates or
the new ones, never half. Dimension and current-state tables are small and replaced whole, also in one
commit. Old snapshots are expired and the files only they referenced are deleted after each commit, so the
storage follows the data, not the number of runs (``KEEP_SNAPSHOTS`` are kept for time travel).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchPropertyException,
    NoSuchTableError,
)
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, In
from pyiceberg.io.pyarrow import PYARROW_FIELD_DOC_KEY, ArrowScan, schema_to_pyarrow
from pyiceberg.manifest import ManifestEntryStatus
from pyiceberg.table import Transaction
from pyiceberg.types import DateType

from ecommerce_pipeline.quality.columns import describe
from ecommerce_pipeline.storage import kept_metadata  # noqa: F401  (pyiceberg reads each metadata file once)

# Snapshots kept for time travel: those of the last week, at most the newest KEEP_SNAPSHOTS (a nightly run
# commits one restatement, two snapshots, per table). Older ones are expired EXPIRE_BATCH at a time, so the
# manifests are walked once per batch of commits, not at every commit.
KEEP_SNAPSHOTS_DAYS = 7
KEEP_SNAPSHOTS = 60
EXPIRE_BATCH = 20
# Tables are created with these properties: the metadata stays small however many commits a table sees.
# Manifests are merged once a commit would leave 4 (Iceberg's default waits for 100): listing a table's
# files reads every manifest, about 4 ms each, and a table kept ~30 after a year of nights (1.2 s a night
# for the catalog alone); merged, it keeps at most 4, and a merge rewrites one small manifest.
TABLE_PROPERTIES = {
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "4",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "format-version": "2",
    # pyiceberg writes a commit's files on a thread each, sized by the rows in memory (512 MiB by default): a
    # day of millions of clicks was one or two files written on one core. At 128 MiB (about 25 MiB of Parquet)
    # its files are written side by side: 4.5 million events in 3.1 s instead of 5.3 s. A small day is one file.
    "write.target-file-size-bytes": str(128 * 2**20),
}
COMMIT_RETRIES = 5
# pyiceberg's write copies a partition's rows twice (a filter per partition, then combine_chunks): a
# 4.5-million-event day held three times over. A write larger than this goes in slices of about this size,
# each its own append in the same commit, so the copies are of one slice at a time.
WRITE_SLICE_BYTES = 256 * 2**20
_EPOCH = date(1970, 1, 1)

_locks: dict[str, threading.Lock] = {}


def _reuse_transaction_metadata() -> None:
    """pyiceberg 0.12 works out a transaction's metadata again each time it is read: every staged update
    replayed onto a deep copy of the table's metadata, every kept snapshot included. An overwrite reads it
    30 to 50 times, about 5 ms each once a table keeps a week of snapshots: a second and more of every night
    after the first weeks, none of it at first. The metadata and the tuple of updates are immutable (a new
    update makes a new tuple), so the result for the same pair is kept and given again. This is the change
    proposed upstream (apache/iceberg-python#3302, #3784); the only difference it makes is that repeated
    reads of the same state carry the same ``last-updated-ms``."""
    compute = Transaction.table_metadata.fget
    if getattr(compute, "reused", False):
        return

    def table_metadata(self: Transaction):
        cached = self.__dict__.get("_ecom_metadata")
        if cached is None or cached[0] is not self._table.metadata or cached[1] is not self._updates:
            cached = (self._table.metadata, self._updates, compute(self))
            self.__dict__["_ecom_metadata"] = cached
        return cached[2]

    table_metadata.reused = True
    Transaction.table_metadata = property(table_metadata)


_reuse_transaction_metadata()


def _split_partitions_by_sorting() -> None:
    """pyiceberg 0.12 splits the rows it writes into partitions with one Acero filter over the whole table per
    partition: about 4 ms each however few the rows, so a year's backfill spent seconds filtering (2,500
    filters), and each partition's rows were copied twice (the filter, then ``combine_chunks``). For a table
    partitioned by one field (every table here), the rows are put in that field's order once (not at all when
    they already are, as a restatement's rows usually are) and each partition is a slice of them. A partition
    holds the same rows in the same order as pyiceberg's filter gives (the sort is stable); only the order in
    which the partitions are written differs. Tables partitioned by several fields keep pyiceberg's split."""
    from pyiceberg.io import pyarrow as iceberg_arrow
    from pyiceberg.partitioning import PartitionFieldValue, PartitionKey

    split = iceberg_arrow._determine_partitions
    if getattr(split, "by_sorting", False):
        return

    def determine_partitions(spec, schema, arrow_table: pa.Table):
        if len(spec.fields) != 1:
            yield from split(spec, schema, arrow_table)
            return
        (field,) = spec.fields
        source = schema.find_field(field.source_id)
        column = iceberg_arrow._get_field_from_arrow_table(arrow_table, schema.find_column_name(field.source_id))
        values = field.transform.pyarrow_transform(source.field_type)(column)
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        if len(values) > 1 and not _ascending(values):
            order = pc.sort_indices(values)  # stable, nulls last
            values, arrow_table = values.take(order), arrow_table.take(order)
        start = 0
        for end in pc.run_end_encode(values).run_ends.to_pylist() if len(values) else []:
            key = PartitionKey(
                field_values=[PartitionFieldValue(field=field, value=values[start].as_py())],
                partition_spec=spec,
                schema=schema,
            )
            rows = arrow_table.slice(start, end - start).combine_chunks()
            yield iceberg_arrow._TablePartition(partition_key=key, arrow_table_partition=rows)
            start = end

    determine_partitions.by_sorting = True
    determine_partitions.pyiceberg_split = split  # kept for the test that compares the two
    iceberg_arrow._determine_partitions = determine_partitions


def _ascending(values: pa.Array) -> bool:
    """Each value at least the one before, nulls only at the end (where a stable sort puts them)."""
    valid = len(values) - values.null_count
    if values.null_count and values.slice(0, valid).null_count:
        return False
    head = values.slice(0, valid)
    return valid < 2 or pc.all(pc.greater_equal(head.slice(1), head.slice(0, valid - 1))).as_py()


_split_partitions_by_sorting()


def _lock(name: str) -> threading.Lock:
    return _locks.setdefault(name, threading.Lock())


def plain(data: pa.Table) -> pa.Table:
    """Iceberg has no dictionary type: dictionary columns are written as their values."""
    for i, f in enumerate(data.schema):
        if pa.types.is_dictionary(f.type):
            data = data.set_column(i, f.name, data.column(i).cast(f.type.value_type))
        elif pa.types.is_large_string(f.type):
            data = data.set_column(i, f.name, data.column(i).cast(pa.string()))
    return data


class TableStore:
    """The silver and gold tables of one environment, in one Iceberg catalog."""

    def __init__(self, catalog: Catalog, roots: dict[str, str], namespace: str | None = None):
        self.catalog = catalog
        self.roots = {layer: root.rstrip("/") for layer, root in roots.items()}  # layer -> folder or s3:// prefix
        # On Glue every table lives in one database, so the layer goes into the table name.
        self.namespace = namespace

    def identifier(self, table: str) -> str:
        layer, name = table.split("/", 1)
        return f"{self.namespace}.{layer}_{name}" if self.namespace else f"{layer}.{name}"

    def location(self, table: str) -> str:
        layer, name = table.split("/", 1)
        return f"{self.roots[layer]}/{name}"

    def load(self, table: str):
        try:
            return self.catalog.load_table(self.identifier(table))
        except (NoSuchTableError, NoSuchPropertyException):  # absent, or a plain (non-Iceberg) Glue table
            return None

    def exists(self, table: str) -> bool:
        return self.load(table) is not None

    # -- reading ---------------------------------------------------------------------------------------

    def read(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        where: BooleanExpression | None = None,
        snapshot_id: int | None = None,
    ) -> pa.Table | None:
        """The table's current rows, or those of ``snapshot_id`` (optionally some columns, and rows matching
        ``where``); None before its first commit."""
        t = self.load(table)
        if t is None:
            return None
        names = t.schema().column_names
        fields = tuple(c for c in columns if c in names) if columns is not None else ("*",)
        data = t.scan(row_filter=where or AlwaysTrue(), selected_fields=fields, snapshot_id=snapshot_id).to_arrow()
        return data.select(list(fields)) if columns is not None else data

    def has_rows(self, table: str, where: BooleanExpression) -> bool:
        """Whether a current row of the table matches ``where`` (the scan stops at the first one)."""
        t = self.load(table)
        if t is None:
            return False
        return t.scan(row_filter=where, selected_fields=(t.schema().column_names[0],), limit=1).to_arrow().num_rows > 0

    def snapshot_rows(self, table: str) -> tuple[int, int] | None:
        """The current snapshot's id and row count, from its summary (no data file is read); None before the
        first commit."""
        t = self.load(table)
        snapshot = t.current_snapshot() if t is not None else None
        if snapshot is None:
            return None
        return snapshot.snapshot_id, int((snapshot.summary or {}).get("total-records", 0))

    def snapshot_property(self, table: str, name: str) -> str | None:
        """A property the current snapshot was committed with (``restate``/``replace`` ``properties``)."""
        t = self.load(table)
        snapshot = t.current_snapshot() if t is not None else None
        return (snapshot.summary or {}).get(name) if snapshot is not None else None

    def changed_partitions(self, table: str, since_snapshot_id: int) -> set | None:
        """The values of the table's one identity partition column (dates, say) whose data files were added
        or removed by the commits after ``since_snapshot_id``, up to the current snapshot: the partitions
        whose rows may differ, found in the manifests without reading data. None when that is not known:
        the snapshot is no longer an ancestor of the current one (expired, say) or the partitioning differs."""
        t = self.load(table)
        spec = t.spec() if t is not None else None
        if spec is None or len(spec.fields) != 1 or str(spec.fields[0].transform) != "identity":
            return None
        source = t.schema().find_field(spec.fields[0].source_id)
        changed, snapshot = set(), t.current_snapshot()
        while snapshot is not None and snapshot.snapshot_id != since_snapshot_id:
            for manifest in snapshot.manifests(t.io):
                if manifest.added_snapshot_id != snapshot.snapshot_id:
                    continue  # written by an earlier commit: holds no change of this one
                if manifest.partition_spec_id != spec.spec_id:
                    return None
                for entry in manifest.fetch_manifest_entry(t.io, discard_deleted=False):
                    if entry.snapshot_id == snapshot.snapshot_id and entry.status != ManifestEntryStatus.EXISTING:
                        changed.add(entry.data_file.partition[0])
            parent = snapshot.parent_snapshot_id
            snapshot = t.snapshot_by_id(parent) if parent is not None else None
        if snapshot is None:
            return None
        if isinstance(source.field_type, DateType):  # Iceberg keeps dates as days since 1970-01-01
            return {_EPOCH + timedelta(days=v) for v in changed}
        return changed

    def batches(
        self, table: str, columns: Sequence[str], snapshot_id: int | None = None
    ) -> pa.RecordBatchReader | None:
        """The table's current rows as a stream of record batches, one data file at a time: for a reader
        that must see every row of a large table without holding it (None before its first commit).
        pyiceberg's own batch reader reads every file at once on its thread pool, holding the whole table."""
        t = self.load(table)
        if t is None:
            return None
        scan = t.scan(selected_fields=tuple(columns), snapshot_id=snapshot_id)
        schema = schema_to_pyarrow(scan.projection())

        def one_file_at_a_time():
            for task in scan.plan_files():
                for batch in ArrowScan(t.metadata, t.io, scan.projection(), scan.row_filter).to_record_batches([task]):
                    yield batch.cast(schema)

        return pa.RecordBatchReader.from_batches(schema, one_file_at_a_time())

    def read_dates(
        self,
        table: str,
        column: str,
        dates: Sequence,
        columns: Sequence[str] | None = None,
        snapshot_id: int | None = None,
    ) -> pa.Table | None:
        """The rows of some dates of a date-partitioned table (only those partitions' files are read), as it
        is now or at ``snapshot_id``."""
        t = self.load(table)
        if t is None:
            return None
        if not dates:
            return _empty(t, columns)
        tasks = _partition_files(t, column, dates, snapshot_id) if identity_partition(t) == column else None
        if tasks is None:
            return self.read(table, columns, In(column, sorted(set(dates))), snapshot_id)
        names = t.schema().column_names
        fields = tuple(c for c in columns if c in names) if columns is not None else ("*",)
        projection = t.scan(selected_fields=fields, snapshot_id=snapshot_id).projection()
        # Every row of a file of a date's partition has that date: nothing is left to filter.
        data = ArrowScan(t.metadata, t.io, projection, AlwaysTrue()).to_table(tasks)
        return data.select(list(fields)) if columns is not None else data

    def rows_of_dates(self, table: str, column: str, dates: Sequence[date]) -> dict[date, int] | None:
        """The rows of each of some dates of a table partitioned by the date column ``column``, from the
        manifests' record counts (no data file is read); None when the files cannot tell."""
        t = self.load(table)
        if t is None:
            return dict.fromkeys(dates, 0)
        tasks = _partition_files(t, column, dates, None) if identity_partition(t) == column else None
        if tasks is None:
            return None
        counts = dict.fromkeys(dates, 0)
        for task in tasks:
            counts[_EPOCH + timedelta(task.file.partition[0])] += task.file.record_count
        return counts

    def read_keys(
        self,
        table: str,
        columns: Sequence[str],
        column: str,
        keys: Sequence[str],
        where: BooleanExpression | None = None,
    ) -> pa.Table | None:
        """The current rows whose ``column`` is one of ``keys`` (and that match ``where``, which prunes files):
        a lookup by a key the table is not laid out by (customers in date-partitioned orders), so every data
        file may hold some. Local tables are searched by DuckDB, which decodes only the key column of rows
        that do not match and reads the files on every core; other stores through pyiceberg's own filter."""
        t = self.load(table)
        if t is None:
            return None
        keys = sorted(set(keys))
        if not keys:
            return _empty(t, columns)
        files = self.local_files(table, where)
        if files is None:
            match = In(column, keys) if where is None else And(where, In(column, keys))
            return self.read(table, columns, match)
        if not files:
            return _empty(t, columns)
        import duckdb  # only the local path needs it

        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")  # timestamps come back as stored, in UTC
            con.register("wanted", pa.table({"key": pa.array(keys, pa.string())}))
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            selected = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
            key = '"' + column.replace('"', '""') + '"'
            rows = con.sql(
                f"SELECT {selected} FROM read_parquet([{listed}]) WHERE {key} IN (SELECT key FROM wanted)"
            ).to_arrow_table()
        finally:
            con.close()
        # The table's own Arrow types (DuckDB gives its own for timestamps and decimals).
        schema = schema_to_pyarrow(t.schema(), include_field_ids=False)
        wanted = [schema.field(c) for c in columns]
        return rows.cast(
            pa.schema([f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f for f in wanted])
        )

    def local_files(
        self, table: str, where: BooleanExpression | None = None, snapshot_id: int | None = None
    ) -> list[str] | None:
        """The current data files (or those of ``snapshot_id``) that can match ``where``, when they are local
        paths DuckDB reads itself; None when they are not (S3) or the table does not exist yet."""
        if self.load(table) is None:
            return None
        files = self.files(table, snapshot_id, where)
        return files if all(urlparse(f).scheme == "" for f in files) else None

    def files(self, table: str, snapshot_id: int | None = None, where: BooleanExpression | None = None) -> list[str]:
        """The data files of the current snapshot (or of ``snapshot_id``): what a plain Parquet reader must read
        (never a glob of the table's folder, which still holds files of older snapshots). ``where`` leaves out
        the files whose partition or column statistics rule it out."""
        t = self.load(table)
        if t is None:
            return []
        return [local_path(f.file_path) for f in data_files(t, snapshot_id, where)]

    def snapshots(self, table: str) -> list[dict]:
        t = self.load(table)
        if t is None:
            return []
        return [
            {"snapshot_id": s.snapshot_id, "committed_at": datetime.fromtimestamp(s.timestamp_ms / 1000, UTC)}
            for s in t.snapshots()
        ]

    def read_as_of(self, table: str, snapshot_id: int, columns: Sequence[str] | None = None) -> pa.Table:
        """Time travel: the table as it was at a snapshot."""
        t = self.load(table)
        fields = tuple(columns) if columns else ("*",)
        return t.scan(snapshot_id=snapshot_id, selected_fields=fields).to_arrow()

    # -- writing ---------------------------------------------------------------------------------------

    def restate(
        self,
        table: str,
        column: str,
        dates: Sequence,
        data: pa.Table,
        also: BooleanExpression | None = None,
        properties: dict[str, str] | None = None,
    ) -> None:
        """Replace every row whose ``column`` is one of ``dates`` (and that matches ``also``) with ``data``
        (rows of those dates only), in one commit. The table is created, partitioned by ``column``, on its
        first write. ``properties`` go into the commit's snapshot summary (``snapshot_property``)."""
        data = plain(data)
        values = sorted(set(dates))
        if data.num_rows:
            stray = set(data.column(column).unique().to_pylist()) - set(values)
            if stray:
                raise ValueError(f"{table}: rows dated {sorted(stray)[:5]} are outside the dates being restated")
        if not values:
            self._table_for(table, data.schema, column)  # an empty table is still a table analysts can query
            return
        where = In(column, values) if also is None else And(In(column, values), also)
        t = self.load(table) if not data.num_rows else None
        if t is not None and not data_files(t, None, where):
            # Nothing to delete and nothing to add (a day without files, a re-run that found none before):
            # a commit would only add a snapshot, at 30-60 ms, for every table of every such day.
            return
        self._commit(table, data, column, where, properties)

    def replace(
        self, table: str, data: pa.Table, partition_column: str | None = None, properties: dict[str, str] | None = None
    ) -> None:
        """Replace the whole table in one commit (created partitioned by ``partition_column``, if given)."""
        self._commit(table, plain(data), partition_column, AlwaysTrue(), properties)

    def _commit(
        self,
        table: str,
        data: pa.Table,
        partition_column: str | None,
        where: BooleanExpression,
        properties: dict[str, str] | None = None,
    ) -> None:
        first, *rest = write_slices(data)
        with _lock(table):
            for attempt in range(COMMIT_RETRIES):
                t = self._table_for(table, data.schema, partition_column)
                try:
                    with warnings.catch_warnings(), t.transaction() as tx:
                        # Restating a date that had no rows yet is normal, not worth a warning.
                        warnings.filterwarnings("ignore", "Delete operation did not match any records")
                        tx.overwrite(first, overwrite_filter=where, snapshot_properties=properties or {})
                        for piece in rest:
                            # Every snapshot carries the properties: readers look at the current one.
                            tx.append(piece, snapshot_properties=properties or {})
                    break
                except CommitFailedException:
                    # Another writer committed first: reload and redo on top of its commit.
                    if attempt == COMMIT_RETRIES - 1:
                        raise
                    time.sleep(0.05 * 2**attempt)
            self._expire(table)

    def _table_for(self, table: str, schema: pa.Schema, partition_column: str | None):
        schema = documented(table, schema)
        t = self.load(table)
        if t is None:
            layer = table.split("/", 1)[0]
            namespace = self.namespace or layer
            try:
                self.catalog.create_namespace(namespace)
            except NamespaceAlreadyExistsError:
                pass
            with self.catalog.create_table_transaction(
                self.identifier(table), schema=schema, location=self.location(table), properties=TABLE_PROPERTIES
            ) as tx:
                if partition_column:
                    with tx.update_spec() as spec:
                        spec.add_identity(partition_column)
            return self.catalog.load_table(self.identifier(table))
        # A table created before a property was added or changed gets it (once).
        changed = {k: v for k, v in TABLE_PROPERTIES.items() if k != "format-version" and t.properties.get(k) != v}
        if changed:
            with t.transaction() as tx:
                tx.set_properties(changed)
            t = self.catalog.load_table(self.identifier(table))
        # Schema evolution: new columns are added by name; existing ones keep their ids and types.
        missing = [f for f in schema if f.name not in t.schema().column_names]
        stale = [f for f in t.schema().fields if (doc := describe(table, f.name)) and f.doc != doc]
        if missing or stale:
            with t.update_schema() as update:
                if missing:
                    update.union_by_name(pa.schema(missing))
                for f in stale:
                    update.update_column(f.name, doc=describe(table, f.name))
            t = self.catalog.load_table(self.identifier(table))
        return t

    def _expire(self, table: str) -> None:
        """Expire snapshots older than the time-travel window (always keeping the current one) and delete
        the files no kept snapshot references (pyiceberg expires metadata only)."""
        t = self.load(table)
        cutoff = int((datetime.now(UTC) - timedelta(days=KEEP_SNAPSHOTS_DAYS)).timestamp() * 1000)
        newest_first = sorted(t.snapshots(), key=lambda s: s.timestamp_ms, reverse=True)
        old = [
            s.snapshot_id
            for i, s in enumerate(newest_first)
            if (s.timestamp_ms < cutoff or i >= KEEP_SNAPSHOTS) and s.snapshot_id != t.metadata.current_snapshot_id
        ]
        if len(old) >= EXPIRE_BATCH or (old and len(newest_first) - len(old) < KEEP_SNAPSHOTS):
            before = referenced_files(t)
            t.maintenance.expire_snapshots().by_ids(old).commit()
            delete_unreferenced(self.load(table), before)


def write_slices(data: pa.Table) -> list[pa.Table]:
    """``data`` as zero-copy row slices of about WRITE_SLICE_BYTES each (one slice when it is smaller)."""
    if data.nbytes <= WRITE_SLICE_BYTES or data.num_rows < 2:
        return [data]
    rows = max(1, data.num_rows * WRITE_SLICE_BYTES // data.nbytes)
    return [data.slice(start, rows) for start in range(0, data.num_rows, rows)]


def documented(table: str, schema: pa.Schema) -> pa.Schema:
    """The schema with each column's description as its Iceberg doc (Glue shows it as the column comment)."""
    fields = []
    for f in schema:
        doc = describe(table, f.name)
        fields.append(f.with_metadata({**(f.metadata or {}), PYARROW_FIELD_DOC_KEY: doc.encode()}) if doc else f)
    return pa.schema(fields)


def _empty(t, columns):
    schema = t.schema().as_arrow()
    if columns is not None:
        schema = pa.schema([f for f in schema if f.name in columns])
    return schema.empty_table()


def data_files(t, snapshot_id: int | None = None, where: BooleanExpression | None = None) -> list:
    """The data files (pyiceberg ``DataFile``: path, partition, record count) of a loaded table's current
    snapshot or of ``snapshot_id``, those ``where`` does not rule out; refused when a plain Parquet reader
    would be wrong (delete files)."""
    tasks = list(t.scan(snapshot_id=snapshot_id, row_filter=where or AlwaysTrue()).plan_files())
    if any(task.delete_files for task in tasks):
        raise RuntimeError(f"{t.name()} has delete files; a plain Parquet reader would see deleted rows")
    return [task.file for task in tasks]


def _partition_files(t, column: str, dates: Sequence, snapshot_id: int | None) -> list | None:
    """The scan tasks of the files of some dates' partitions of a table partitioned by the values of the date
    column ``column``, chosen by each file's partition value. pyiceberg's ``In`` filter does the same but
    builds its set of values again for every file it looks at: a year of dates cost a third of a second a
    read. None when a file was written under another partitioning or ``dates`` are not all dates (the
    general filter decides)."""
    spec_id = t.spec().spec_id
    if not isinstance(t.schema().find_field(column).field_type, DateType) or not all(type(d) is date for d in dates):
        return None
    wanted = {(d - _EPOCH).days for d in dates}  # Iceberg keeps dates as days since 1970-01-01
    tasks = list(t.scan(snapshot_id=snapshot_id).plan_files())
    if any(task.file.spec_id != spec_id for task in tasks):
        return None
    return [task for task in tasks if task.file.partition[0] in wanted]


def identity_partition(t) -> str | None:
    """The column a table is partitioned by, when it is partitioned by exactly one column's values."""
    spec = t.spec()
    if len(spec.fields) != 1 or str(spec.fields[0].transform) != "identity":
        return None
    return t.schema().find_field(spec.fields[0].source_id).name


def local_path(path: str) -> str:
    """A ``file://`` location as a plain path (DuckDB and pyarrow read both); other schemes unchanged."""
    return urlparse(path).path if path.startswith("file:") else path


def referenced_files(t) -> set[str]:
    """Every data and metadata file some kept snapshot of the table still needs."""
    keep = set()
    io = t.io
    for snapshot in t.snapshots():
        keep.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            keep.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=False):
                keep.add(entry.data_file.file_path)
    return {local_path(p) for p in keep}


def delete_unreferenced(t, before: set[str]) -> list[str]:
    """Delete the files that expired snapshots referenced and no kept snapshot does (pyiceberg's expiry
    removes them from the metadata only). Only those files: a concurrent writer's uncommitted files are
    never in ``before``, so they are never touched."""
    gone = sorted(before - referenced_files(t))
    for path in gone:
        # A plain path, not Path.as_uri(): that percent-encodes the '=' of partition folders, naming no file.
        t.io.delete(path)
    return gone


def local_catalog(lake_dir: str | os.PathLike) -> Catalog:
    """The local default: a SQL catalog in a SQLite file beside the lake."""
    from pyiceberg.catalog.sql import SqlCatalog

    root = Path(lake_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return SqlCatalog("lake", uri=f"sqlite:///{root / 'iceberg_catalog.db'}", warehouse=root.as_uri())


def local_table_store(lake_dir: str | os.PathLike) -> TableStore:
    root = Path(lake_dir).resolve()
    return TableStore(local_catalog(root), {layer: (root / layer).as_uri() for layer in ("silver", "gold")})


def glue_table_store(
    database: str, silver_uri: str, gold_uri: str, region: str | None, endpoint: str | None = None
) -> TableStore:
    """On AWS: the Glue Data Catalog (tables of type ICEBERG, read by Athena) and the layers' S3 prefixes.
    ``endpoint``: another S3/Glue endpoint (a moto server, LocalStack). Files are read through ``KeptFileIO``:
    an Iceberg metadata file (immutable, as data files are) is fetched once by the process, not at every load of
    its table, and a data file's footer once; which metadata is current is still asked of Glue at every load."""
    from pyiceberg.catalog.glue import GlueCatalog

    properties = {"py-io-impl": "ecommerce_pipeline.storage.kept_io.KeptFileIO"}
    properties |= {"glue.region": region, "s3.region": region} if region else {}
    if endpoint:
        properties |= {"glue.endpoint": endpoint, "s3.endpoint": endpoint}
    return TableStore(GlueCatalog("glue", **properties), {"silver": silver_uri, "gold": gold_uri}, database)
