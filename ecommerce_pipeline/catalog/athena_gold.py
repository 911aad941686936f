"""Computing a gold table on Athena (ECOM_GOLD_ENGINE=athena) instead of in-process.

Athena runs the table's own SQL file (``transforms/athena_sql/<table>.sql``, the text the local engine
transpiles to DuckDB) over the Glue tables, and UNLOADs the result as Snappy Parquet, partitioned by
``business_date``, into a fresh staging folder. Each day's staged files are then published into the
lake partition exactly as the local engine would write it (``year=/month=/day=/part-0.parquet``, the
local engine's column order and types), through the lake's write-then-delete rule, and the staging
folder is removed. A re-run replaces the partitions, never adds to them.

UNLOAD rather than CTAS + INSERT INTO: it writes files without creating a table, so there is no
temporary Glue table to drop (and no glue:DeleteTable to grant). Athena writes at most 100 partitions
per statement, so longer ranges are sent in chunks of 100 days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pyarrow as pa

from ecommerce_pipeline.catalog.athena import Athena, QueryRun
from ecommerce_pipeline.storage.lake import WriteStats
from ecommerce_pipeline.storage.s3_lake import S3Lake
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


def staged_day(staged: pa.Table | None, day: date, schema: pa.Schema) -> pa.Table:
    """One day of UNLOADed rows in the local engine's column order and types (no rows: an empty table)."""
    if staged is None:
        return schema.empty_table()
    dates = pa.array([day] * staged.num_rows, pa.date32())
    staged = staged.append_column(PARTITION_COLUMN, dates)
    return staged.select(schema.names).cast(schema)


def publish(lake: S3Lake, table: str, staging_uri: str, days: list[date], schema: pa.Schema) -> list[WriteStats]:
    """Replace each day's lake partition with the files Athena staged for it."""
    return [
        lake.write_partition(
            table, day, staged_day(lake.read_folder(f"{staging_uri}{PARTITION_COLUMN}={day.isoformat()}/"), day, schema)
        )
        for day in days
    ]


def compute_on_athena(
    athena: Athena,
    lake: S3Lake,
    table: str,
    relations: Callable[[list[date]], dict[str, str]],
    days: list[date],
    schema: pa.Schema,
    token: str,
) -> list[QueryRun]:
    """Compute ``gold/<name>`` for ``days`` on Athena and publish it into the lake; returns the queries run.

    ``relations(chunk)`` fills the SQL file's placeholders for a chunk of days; ``token`` names the
    staging folder, unique per attempt because UNLOAD refuses a folder that already holds files.
    """
    name = table.partition("/")[2]
    staging_root = lake.staging_location(table, token)
    days = sorted(days)
    runs = []
    try:
        for start in range(0, len(days), MAX_PARTITIONS_PER_STATEMENT):
            chunk = days[start : start + MAX_PARTITIONS_PER_STATEMENT]
            staging = f"{staging_root}{start // MAX_PARTITIONS_PER_STATEMENT}/"
            runs.append(athena.run(unload_statement(athena_sql(name, **relations(chunk)), schema.names, staging)))
            publish(lake, table, staging, chunk, schema)
    finally:
        lake.delete_folder(staging_root)
    return runs
