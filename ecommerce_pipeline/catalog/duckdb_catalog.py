"""The local catalog: a DuckDB file holding one view per table.

Bronze and quarantine tables are views over their Hive-partitioned Parquet; silver and gold (Iceberg
tables) are views over the data files of their current snapshot, listed by pyiceberg (never a glob of the
table's folder, which still holds files of the snapshots kept for time travel). DuckDB's own iceberg
extension is not needed, so the catalog works offline.

Schemas follow the layers (bronze, silver, gold, quarantine), so ``SELECT * FROM gold.daily_sales_summary``
works from ``ecommerce-pipeline sql`` and from the plain ``duckdb`` CLI alike.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.conversions import from_bytes
from pyiceberg.expressions import In
from pyiceberg.types import DateType

from ecommerce_pipeline.catalog.query_library import VIEW_SCHEMA, duckdb_sql, query_names
from ecommerce_pipeline.storage.lake import PART_FILE, Lake, LocalLake
from ecommerce_pipeline.storage.tables import TableStore, data_files, identity_partition, local_path
from ecommerce_pipeline.transforms.sql import literal, quote

LOCK_WAIT_SECONDS = 30.0
_EPOCH = date(1970, 1, 1)


def columns_never_changed(iceberg) -> bool:
    """Whether every schema the Iceberg table ever had has the same columns (a doc change is a new schema too),
    so every data file has the current columns in the current order."""
    columns = {tuple((f.name, str(f.field_type)) for f in schema.fields) for schema in iceberg.schemas().values()}
    return len(columns) == 1


def _may_hold(data_file, field_id: int, days: list[date]) -> bool:
    """Whether a data file's statistics for a date column leave room for one of ``days`` (no statistics: yes)."""
    low, high = (data_file.lower_bounds or {}).get(field_id), (data_file.upper_bounds or {}).get(field_id)
    if low is None or high is None:
        return True
    low, high = (_EPOCH + timedelta(days=from_bytes(DateType(), b)) for b in (low, high))
    return any(low <= d <= high for d in days)


def _counted_by_statistics(files: list[str], days: set[date]) -> tuple[int, list[str]]:
    """The rows of ``files`` dated one of ``days``, counted from the Parquet footers where the ``business_date``
    statistics settle it (every row group of the file holds one of the days only, without nulls), and the files
    they do not settle, left to be read. A Hive folder's file holds its own day, so a long backfill's count
    (hundreds of bronze files per view) reads footers, not data."""
    counted, unsettled = 0, []
    for path in files:
        metadata = pq.read_metadata(path)
        column = metadata.schema.to_arrow_schema().get_field_index("business_date")
        rows = 0
        for i in range(metadata.num_row_groups):
            group = metadata.row_group(i)
            if group.num_rows == 0:  # an empty day's file: one row group, no rows, no statistics
                continue
            stats = group.column(column).statistics if column >= 0 else None
            if not (stats is not None and stats.has_min_max and stats.null_count == 0 and stats.min == stats.max):
                unsettled.append(path)
                break
            rows += group.num_rows if stats.min in days else 0
        else:
            counted += rows
    return counted, unsettled


def _hive_select(files: str) -> str:
    """The SELECT of a bronze or quarantine view over ``files`` (a SQL glob or list): one reading for the view
    and for the check that its columns did not change."""
    return (
        f"SELECT * FROM read_parquet({files}, hive_partitioning = true, union_by_name = true, "
        "hive_types = {'year': INTEGER, 'month': INTEGER, 'day': INTEGER})"
    )


def _day_file(day: date) -> str:
    return f"year={day.year:04d}/month={day.month:02d}/day={day.day:02d}/{PART_FILE}"


def _view_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every view's and table's (name, type) pairs as the catalog stored them when it was created, keyed
    ``schema.name`` (no file is opened). One query: DuckDB's own views make each ``duckdb_columns()`` a
    millisecond or more, and a run registers some twenty views."""
    columns: dict[str, list[tuple]] = {}
    for schema, name, column, data_type in con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal "
        "ORDER BY schema_name, table_name, column_index"
    ).fetchall():
        columns.setdefault(f"{schema}.{name}", []).append((column, data_type))
    return columns


def _connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the catalog file, waiting while another process holds its lock (two runs finishing at once)."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def iceberg_view_sql(files: list[str], schema: pa.Schema, same_columns: bool = False) -> str:
    """A SELECT over a snapshot's data files, columns matched by name; typed and empty when it has none.
    ``same_columns``: every file has the table's columns (its schema never changed them), so DuckDB need not
    open every file to match columns when the view is created and each time a view over it is."""
    if files:
        listed = ", ".join(literal(f) for f in files)
        union = "" if same_columns else ", union_by_name = true"
        return f"SELECT * FROM read_parquet([{listed}]{union})"
    con = duckdb.connect()
    con.register("empty_table", schema.empty_table())
    types = con.execute("DESCRIBE empty_table").fetchall()
    con.close()
    return "SELECT " + ", ".join(f"CAST(NULL AS {t[1]}) AS {quote(t[0])}" for t in types) + " WHERE false"


class DuckDBCatalog:
    def __init__(self, path: str | Path, lake: LocalLake, tables: TableStore | None = None):
        self.path = Path(path)
        self.lake = lake
        self.tables = tables
        # Iceberg table -> (loaded table, data files) as ``register`` last listed them: counting a run's rows
        # right after reads the same snapshot's file list instead of loading and listing every table again.
        self._listed: dict[str, tuple] = {}
        # Whether ``register`` changed some view's columns. DuckDB binds a view again at each query, but the
        # columns the catalog lists for it (what a schema browser shows) are those it had when created.
        self._changed_columns = True

    def register(self, tables: list[str], days: list[date] | None = None) -> dict[str, str]:
        """Create or replace a view per table that has data; returns view name -> location.

        ``days``: the run's dates. A bronze or quarantine view (a glob over every day's file, columns matched by
        name, so creating it opens every file of the history) is kept as it is when the files of those days have
        exactly its columns: the glob already finds them, and no other file changed. All statements are one
        transaction: readers see the old catalog or the new one, and it is written once."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        registered = {}
        self._changed_columns = False
        with _connect(self.path) as con:
            con.execute("BEGIN TRANSACTION")
            existing = {
                f"{s}.{v}": sql
                for s, v, sql in con.execute("SELECT schema_name, view_name, sql FROM duckdb_views()").fetchall()
            }
            columns_before, replaced = _view_columns(con), []
            for table in tables:
                schema, name = table.split("/", 1)
                view = f"{quote(schema)}.{quote(name)}"
                iceberg = self.tables.load(table) if self.tables is not None else None
                if iceberg is not None:
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
                    files = data_files(iceberg)
                    self._listed[table] = (iceberg, files)
                    sql = iceberg_view_sql(
                        [local_path(f.file_path) for f in files],
                        iceberg.schema().as_arrow(),
                        columns_never_changed(iceberg),
                    )
                    comments = [
                        f"COMMENT ON COLUMN {view}.{quote(field.name)} IS {literal(field.doc)}"
                        for field in iceberg.schema().fields
                        if field.doc
                    ]
                    # One call for the view and its comments: a statement each cost more to hand over than to run.
                    con.execute(";\n".join([f"CREATE OR REPLACE VIEW {view} AS {sql}", *comments]))
                    replaced.append(f"{schema}.{name}")
                    registered[f"{schema}.{name}"] = iceberg.location()
                    continue
                if not self.lake.has_data(table):
                    continue
                files = f"{self.lake.table_location(table)}/year=*/month=*/day=*/{PART_FILE}"
                registered[f"{schema}.{name}"] = files
                if literal(files) in existing.get(f"{schema}.{name}", "") and self._same_columns(
                    con, columns_before.get(f"{schema}.{name}"), table, days
                ):
                    continue
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
                con.execute(f"CREATE OR REPLACE VIEW {view} AS {_hive_select(literal(files))}")
                self._changed_columns = True
            if replaced:
                columns_after = _view_columns(con)
                self._changed_columns |= any(columns_before.get(v) != columns_after.get(v) for v in replaced)
            con.execute("COMMIT")
        return registered

    def _same_columns(self, con, view_columns: list[tuple] | None, table: str, days: list[date] | None) -> bool:
        """Whether the files the run wrote for ``days`` have exactly the view's columns and types. The view is
        the union of every file's columns; only these files changed, so then the union did not."""
        if not days:
            return False
        root = Path(self.lake.table_location(table))
        files = [root / _day_file(d) for d in days]
        if not all(f.exists() for f in files):  # a day removed may take a column with it
            return False
        listed = ", ".join(literal(str(f)) for f in files)
        incoming = con.execute(f"DESCRIBE {_hive_select(f'[{listed}]')}").fetchall()
        return [tuple(c[:2]) for c in incoming] == view_columns

    def register_query_library(self) -> tuple[list[str], dict[str, str]]:
        """The query library's views as ``analytics.<name>``; returns (created, skipped -> reason).

        A view is skipped, not failed, while a table it reads has no data yet (a store without events, say).
        """
        created, skipped = [], {}
        with _connect(self.path) as con:  # no transaction: a view that cannot be created yet would abort it
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {VIEW_SCHEMA}")
            comments = dict(
                con.execute(
                    "SELECT view_name, comment FROM duckdb_views() WHERE schema_name = ?", [VIEW_SCHEMA]
                ).fetchall()
            )
            for name in query_names():
                sql = duckdb_sql(name)
                # Kept when its text and every table's columns are as when it was created: creating a view
                # binds every view it reads, which opens every bronze file of the history.
                stamp = "sha256:" + hashlib.sha256(sql.encode()).hexdigest()
                if not self._changed_columns and comments.get(name) == stamp:
                    created.append(f"{VIEW_SCHEMA}.{name}")
                    continue
                try:
                    con.execute(f"CREATE OR REPLACE VIEW {VIEW_SCHEMA}.{quote(name)} AS {sql}")
                    con.execute(f"COMMENT ON VIEW {VIEW_SCHEMA}.{quote(name)} IS {literal(stamp)}")
                    created.append(f"{VIEW_SCHEMA}.{name}")
                except duckdb.CatalogException as exc:
                    skipped[f"{VIEW_SCHEMA}.{name}"] = str(exc).splitlines()[0]
        return created, skipped

    def query(self, sql: str, as_of: dict[str, int] | None = None) -> pa.Table:
        """Run ``sql``; ``as_of`` maps Iceberg tables (``gold/daily_sales_summary``) to a snapshot id to read
        instead of their current state (time travel)."""
        if not self.path.exists():
            raise FileNotFoundError(f"no catalog at {self.path}: run the pipeline first (ecommerce-pipeline run ...)")
        for table, snapshot_id in (as_of or {}).items():
            iceberg = self.tables.load(table) if self.tables is not None else None
            if iceberg is None:
                raise ValueError(f"{table} is not an Iceberg table of this catalog")
            view = iceberg_view_sql(self.tables.files(table, snapshot_id), iceberg.schema().as_arrow())
            sql = sql.replace(table.replace("/", "."), f"({view})")
        with _connect(self.path, read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")
            return con.sql(sql).to_arrow_table()

    def rows_of_days(self, views: list[str], days: list[date]) -> dict[str, int]:
        """Rows per view whose ``business_date`` is one of ``days``; a view without that column is counted
        whole. Only the files that can hold those dates are read (the Iceberg manifests and the Hive folders
        name them), so counting a night's rows costs the same after a year of history as after a week."""
        wanted = ", ".join(f"DATE {literal(d.isoformat())}" for d in sorted(days))
        counts = {}
        with _connect(self.path, read_only=True) as con:
            for view in views:
                table = view.replace(".", "/", 1)
                if table in self._listed and identity_partition(self._listed[table][0]) == "business_date":
                    # Every row of a data file has its partition's date: the manifests' row counts are the count.
                    wanted_days = {(d - _EPOCH).days for d in days}
                    counts[view] = sum(f.record_count for f in self._listed[table][1] if f.partition[0] in wanted_days)
                    continue
                iceberg = self.tables.load(table) if self.tables is not None else None
                if iceberg is not None:
                    files, dated = self._iceberg_files_of_days(table, iceberg, days)
                else:
                    files, dated = self._hive_files_of_days(table, days)
                if files is None and table in self._listed:  # no column to select by: the whole table, as listed
                    counts[view] = sum(f.record_count for f in self._listed[table][1])
                elif files is None:  # no column to select by: the whole view, as before
                    counts[view] = con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
                else:
                    counted, files = _counted_by_statistics(files, set(days)) if dated else (0, files)
                    counts[view] = counted
                    if files:
                        listed = ", ".join(literal(f) for f in files)
                        where = f" WHERE business_date IN ({wanted})" if dated else ""
                        counts[view] += con.execute(
                            f"SELECT count(*) FROM read_parquet([{listed}], union_by_name = true){where}"
                        ).fetchone()[0]
        return counts

    def _iceberg_files_of_days(self, table: str, iceberg, days: list[date]) -> tuple[list[str] | None, bool]:
        if "business_date" not in iceberg.schema().column_names:
            return None, False
        if not days:
            return [], True
        if table in self._listed:
            # The files ``register`` listed, each kept when its business_date range (from the manifests'
            # column statistics) can hold one of the days: no second walk of the manifests.
            field = iceberg.schema().find_field("business_date").field_id
            return [local_path(f.file_path) for f in self._listed[table][1] if _may_hold(f, field, days)], True
        # Partition values (or column statistics) in the manifests rule out every other file.
        return self.tables.files(table, where=In("business_date", [d.isoformat() for d in days])), True

    def _hive_files_of_days(self, table: str, days: list[date]) -> tuple[list[str] | None, bool]:
        root = Path(self.lake.table_location(table))
        files = [str(root / f) for d in sorted(days) if (root / (f := _day_file(d))).exists()]
        sample = files[0] if files else next(root.glob(f"year=*/month=*/day=*/{PART_FILE}"), None)
        if sample is None:
            return [], True
        if "business_date" not in pq.read_schema(sample).names:
            return None, False
        # A Hive folder holds the rows of its own day only (the lake refuses to write others there).
        return files, True

    def row_counts(self, views: list[str], where: str = "") -> dict[str, int]:
        """Rows per view matching ``where``; views without the columns it names are counted whole."""
        counts = {}
        with _connect(self.path, read_only=True) as con:
            for v in views:
                try:
                    counts[v] = con.execute(f"SELECT count(*) FROM {v} {where}").fetchone()[0]
                except duckdb.BinderException:
                    counts[v] = con.execute(f"SELECT count(*) FROM {v}").fetchone()[0]
        return counts


class LakeSnapshot:
    """Some days of some lake tables loaded into an in-memory DuckDB under the catalog's ``<layer>.<name>``
    names, so the same SQL summarizes a run on any ``Lake`` (S3 included) without a catalog file."""

    def __init__(self, lake: Lake, tables: list[str], days: list[date], store: TableStore | None = None):
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        for table in tables:
            iceberg = store is not None and table.split("/")[0] in ("silver", "gold") and store.exists(table)
            data = store.read(table) if iceberg else lake.read_partitions(table, days)
            if data is None:
                continue
            schema, name = table.split("/", 1)
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
            self.con.register("_incoming", data)
            self.con.execute(f"CREATE TABLE {quote(schema)}.{quote(name)} AS SELECT * FROM _incoming")
            self.con.unregister("_incoming")

    def query(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()
