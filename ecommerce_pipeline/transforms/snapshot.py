"""Dimension snapshots shared by customers_clean and products_clean.

A dimension file carries new or changed records. Within one day, the latest record of a key wins and
the others count as duplicates removed. That record is cleaned and checked; if it passes it becomes
the key's version from that day, otherwise it is quarantined. The snapshot as of a day holds, for
every key, its newest passing version from that day or earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from ecommerce_pipeline.transforms.bronze import QUARANTINE_SCHEMA
from ecommerce_pipeline.transforms.sql import arrow, connect, quote

LINEAGE = ("_source_file", "_source_row", "_batch_id")


@dataclass
class SilverResult:
    table: pa.Table
    quarantine: pa.Table
    duplicates: int = 0


def dimension_snapshots(
    history: pa.Table,
    days: list[date],
    key: str,
    cleaned_columns: dict[str, str],
    failure_checks: list[str],
    params: dict | None = None,
) -> SilverResult:
    """Snapshots as of each of ``days`` from ``history`` (bronze rows of those days and earlier).

    ``cleaned_columns`` maps each output column to a SQL expression over the bronze row (and
    ``first_seen``, the first day the key appeared); ``failure_checks`` are SQL expressions yielding
    'rule: explanation' or NULL.
    """
    con = connect()
    con.register("history", history.append_column("_pos", pa.array(np.arange(history.num_rows, dtype=np.int64))))
    failures = f"concat_ws('; ', {', '.join(failure_checks)})" if failure_checks else "''"
    cleaned = ", ".join(f"{expr} AS {quote(name)}" for name, expr in cleaned_columns.items())
    k = quote(key)
    versions = arrow(
        con,
        f"""
        WITH first_seen AS (SELECT {k} AS k, min(business_date) AS first_seen FROM history GROUP BY 1),
        latest_of_day AS (
            SELECT h.*, f.first_seen
            FROM history h JOIN first_seen f ON f.k = h.{k}
            QUALIFY row_number() OVER (
                PARTITION BY h.business_date, h.{k}
                ORDER BY h.updated_at DESC NULLS LAST, h._source_file DESC, h._source_row DESC) = 1
        )
        SELECT business_date AS version_date, {cleaned}, {", ".join(LINEAGE)}, _ingested_at, _pos,
               {failures} AS _failures
        FROM latest_of_day
        """,
        params or None,
    )
    # An Arrow table, not a DuckDB temp table: DuckDB compresses what it stores, which costs more
    # than the three queries below save.
    con.register("versions", versions)
    out_cols = ", ".join(quote(c) for c in cleaned_columns)
    table = arrow(
        con,
        f"""
        SELECT d.as_of AS business_date, {out_cols}, v.version_date, {", ".join("v." + c for c in LINEAGE)}
        FROM (SELECT unnest($days::DATE[]) AS as_of) d
        JOIN versions v ON v.version_date <= d.as_of AND v._failures = ''
        QUALIFY row_number() OVER (PARTITION BY d.as_of, v.{k} ORDER BY v.version_date DESC) = 1
        """,
        {"days": days},
    )
    # Raw values are rebuilt for the few rejected versions only.
    raw = ", ".join(f"{quote(c)} := h.{quote(c)}" for c in history.column_names if not c.startswith("_"))
    quarantine = arrow(
        con,
        f"""
        SELECT v.version_date AS business_date, v._source_file, v._source_row, v._batch_id, v._ingested_at,
               split_part(v._failures, ':', 1) AS rule, v._failures AS detail,
               to_json(struct_pack({raw}))::VARCHAR AS raw_record
        FROM versions v JOIN history h ON h._pos = v._pos
        WHERE v._failures <> '' AND v.version_date >= $first_day
        ORDER BY v._source_file, v._source_row
        """,
        {"first_day": days[0]},
    ).cast(QUARANTINE_SCHEMA)
    duplicates = con.execute(
        "SELECT (SELECT count(*) FROM history WHERE business_date >= $first_day)"
        " - (SELECT count(*) FROM versions WHERE version_date >= $first_day)",
        {"first_day": days[0]},
    ).fetchone()[0]
    con.close()
    return SilverResult(table, quarantine, int(duplicates))
