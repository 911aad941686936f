"""Computing a gold table on Athena (ECOM_GOLD_ENGINE=athena) instead of in-process.

Athena runs the table's own SQL file (``transforms/athena_sql/<table>.sql``, the text the local engine
transpiles to DuckDB) over the Glue tables, and UNLOADs the result as Snappy Parquet, partitioned by
``business_date``, into a fresh staging folder. Each day's staged rows are handed to the publisher (on the
Iceberg model, ``IcebergPublisher`` in ``defs/gold/athena_assets.py``, which commits every day of the run
to the gold Iceberg table in one restatement) in the local engine's column order and types, and the
staging folder is removed. A re-run replaces the days, never adds to them.

UNLOAD rather than CTAS + INSERT INTO: it writes files without creating a table, so there is no
temporary Glue table to drop (and no glue:DeleteTable to grant). Athena writes at most 100 partitions
per statement, so longer ranges are sent in chunks of 100 days.

Nothing is published on trust. For each chunk the files come from UNLOAD's data manifest (every file it
wrote, nothing else from the staging folder), Athena counts the rows of the same SQL per day
(``count_statement``), and the silver tables say which days have input rows. Publishing is refused,
for the whole chunk and before anything is handed to the publisher, when the manifest is missing or names a file
that is not in the staging folder, when a day's staged rows differ from Athena's count, or when a day
would be published empty although its inputs have rows: the gold table stays as it was.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ecommerce_pipeline.catalog.athena import Athena, QueryRun
from ecommerce_pipeline.storage.aws import split_uri
from ecommerce_pipeline.storage.lake import WriteStats, concat
from ecommerce_pipeline.storage.s3_lake import S3Lake

if TYPE_CHECKING:
    import boto3
from ecommerce_pipeline.transforms.sql import athena_sql

MAX_PARTITIONS_PER_STATEMENT = 100
PARTITION_COLUMN = "business_date"


def days_relation(days: list[date]) -> str:
    """The as-of days as a relation with one DATE column, ``as_of``."""
    dates = ", ".join(f"DATE '{day.isoformat()}'" for day in sorted(days))
    return f"(SELECT as_of FROM UNNEST(ARRAY[{dates}]) AS days (as_of))"


def unload_statement(select_sql: str, columns: list[str], staging_uri: str) -> str:
    """UNLOAD ``select_sql`` as Snappy Parquet under ``staging_uri``, one ``business_date=`` folder per day.

    Athena wants the partition column last; the files then hold the other columns and the folder the date.
    """
    others = ", ".join(c for c in columns if c != PARTITION_COLUMN)
    return (
        f"UNLOAD (SELECT {others}, {PARTITION_COLUMN} FROM (\n{select_sql}\n))\n"
        f"TO '{staging_uri}'\n"
        f"WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['{PARTITION_COLUMN}'])"
    )


def count_statement(select_sql: str) -> str:
    """The rows ``select_sql`` gives per day: what the UNLOAD of the same text must have written."""
    return (
        f"SELECT {PARTITION_COLUMN}, count(*) AS row_count FROM (\n{select_sql}\n) AS result\n"
        f"GROUP BY {PARTITION_COLUMN}"
    )


class UnloadRefused(RuntimeError):
    """What Athena staged does not match what it says it computed: nothing of the chunk is published."""


def staged_day(staged: pa.Table | None, day: date, schema: pa.Schema) -> pa.Table:
    """One day of UNLOADed rows in the local engine's column order and types (no rows: an empty table)."""
    if staged is None:
        return schema.empty_table()
    dates = pa.array([day] * staged.num_rows, pa.date32())
    staged = staged.append_column(PARTITION_COLUMN, dates)
    return staged.select(schema.names).cast(schema)


def _get(session: boto3.Session, uri: str, byte_range: str | None = None) -> bytes:
    bucket, key = split_uri(uri)
    s3 = session.client("s3")
    extra = {"Range": byte_range} if byte_range else {}
    return s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()


def manifest_files(session: boto3.Session, run: QueryRun) -> list[str]:
    """The files an UNLOAD wrote, from its data manifest (one s3:// path a line, in the results location).

    Athena names it in the execution's statistics (``DataManifestLocation``); it is otherwise
    ``<query id>-manifest.csv`` beside the query's result. A statement that wrote no file still has one, empty.
    """
    location = run.manifest_location
    if location is None and run.output_location:
        location = run.output_location.rsplit("/", 1)[0] + f"/{run.query_id}-manifest.csv"
    if location is None:
        raise UnloadRefused(f"UNLOAD {run.query_id} reported no data manifest and no output location")
    try:
        body = _get(session, location)
    except session.client("s3").exceptions.NoSuchKey:
        raise UnloadRefused(f"UNLOAD {run.query_id} wrote no data manifest at {location}") from None
    return [line.strip() for line in body.decode().splitlines() if line.strip()]


def read_staged(
    session: boto3.Session, staging_uri: str, files: list[str], days: list[date]
) -> dict[date, pa.Table | None]:
    """Each day's rows from the files in the manifest; a file outside ``staging_uri`` or another day is refused."""
    by_day: dict[date, list[pa.Table]] = {day: [] for day in days}
    for path in files:
        folder = path[len(staging_uri) :].split("/", 1)[0] if path.startswith(staging_uri) else ""
        day = date.fromisoformat(folder.partition("=")[2]) if folder.startswith(f"{PARTITION_COLUMN}=") else None
        if day not in by_day:
            raise UnloadRefused(f"the UNLOAD manifest lists {path}, which is not a day's file under {staging_uri}")
        try:
            by_day[day].append(pq.read_table(io.BytesIO(_get(session, path))))
        except session.client("s3").exceptions.NoSuchKey:
            raise UnloadRefused(f"the UNLOAD manifest lists {path}, which is not in the staging folder") from None
    return {day: concat(parts) if parts else None for day, parts in by_day.items()}


def verify_staged(
    table: str,
    staged_rows: dict[date, int],
    counted: dict[date, int],
    days_with_input: set[date],
) -> None:
    """Refuse (raise :class:`UnloadRefused`) unless every day's staged rows are Athena's count of the same SQL
    and no day is empty while its inputs have rows."""
    problems = []
    for day, rows in sorted(staged_rows.items()):
        expected = counted.get(day, 0)
        if rows != expected:
            problems.append(f"{day}: UNLOAD staged {rows} rows, count(*) of the same SQL gives {expected}")
        elif rows == 0 and day in days_with_input:
            problems.append(f"{day}: no rows, but its inputs in silver have rows")
    if problems:
        raise UnloadRefused(
            f"{table}: refusing to publish Athena's result (the table is left as it was): " + "; ".join(problems)
        )


def publish(lake: S3Lake, table: str, staged: dict[date, pa.Table | None], schema: pa.Schema) -> list[WriteStats]:
    """Hand each day's rows Athena staged (verified beforehand) to the publisher, replacing that day."""
    return [lake.write_partition(table, day, staged_day(rows, day, schema)) for day, rows in sorted(staged.items())]


def compute_on_athena(
    athena: Athena,
    lake: S3Lake,
    table: str,
    relations: Callable[[list[date]], dict[str, str]],
    days: list[date],
    schema: pa.Schema,
    token: str,
    days_with_input: Callable[[list[date]], set[date]],
) -> list[QueryRun]:
    """Compute ``gold/<name>`` for ``days`` on Athena and publish it through ``lake``; returns the queries run.

    ``relations(chunk)`` fills the SQL file's placeholders for a chunk of days; ``days_with_input(chunk)``
    says which of them have input rows in silver. ``token`` names the staging folder, unique per attempt
    because UNLOAD refuses a folder that already holds files. Raises :class:`UnloadRefused` (publishing
    nothing of the chunk) when what was staged does not match what Athena counts.
    """
    name = table.partition("/")[2]
    staging_root = lake.staging_location(table, token)
    days = sorted(days)
    runs = []
    try:
        for start in range(0, len(days), MAX_PARTITIONS_PER_STATEMENT):
            chunk = days[start : start + MAX_PARTITIONS_PER_STATEMENT]
            staging = f"{staging_root}{start // MAX_PARTITIONS_PER_STATEMENT}/"
            sql = athena_sql(name, **relations(chunk))
            unload = athena.run(unload_statement(sql, schema.names, staging))
            runs.append(unload)
            staged = read_staged(lake.session, staging, manifest_files(lake.session, unload), chunk)
            count, rows = athena.query(count_statement(sql))
            runs.append(count)
            counted = {date.fromisoformat(r[PARTITION_COLUMN]): int(r["row_count"]) for r in rows}
            staged_rows = {day: 0 if t is None else t.num_rows for day, t in staged.items()}
            verify_staged(table, staged_rows, counted, days_with_input(chunk))
            publish(lake, table, staged, schema)
    finally:
        lake.delete_folder(staging_root)
    return runs
