"""Dimensions as history (type 2): one row per version of a customer or product, valid from its time.

Every record that arrives and passes the silver rules is a **version** of its key. Versions are ordered
by their time (``updated_at``, or midnight UTC of the landing day when the record has none), then landing
day, then file and row: the documented order that decides which version is later, whatever order the
days are processed in. A version is valid from its time (``valid_from``) until the next version's
(``valid_to``, empty for the current one, ``is_current``). Facts take the version valid at their own
time; a fact older than a key's first version takes the first version (a customer exported after their
first order still has a region).

Merging a run's records into the stored history never re-reads bronze: the run's landing days are
removed from the history (a re-run replaces them) and their versions added. Which facts may see a
different version is returned as time ranges per key (``changes``), so only those are restated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.transforms.bronze import QUARANTINE_SCHEMA
from ecommerce_pipeline.transforms.sql import arrow, connect, quote

LINEAGE = ("_source_file", "_source_row", "_batch_id")
CHANGES_SCHEMA = pa.schema(
    [("key", pa.string()), ("from_ts", pa.timestamp("us", tz="UTC")), ("to_ts", pa.timestamp("us", tz="UTC"))]
)
# The documented order of versions of one key: the first is the oldest.
VERSION_ORDER = "valid_from, landing_date, _source_file, _source_row"


@dataclass
class DimensionResult:
    history: pa.Table  # every version of every key
    quarantine: pa.Table  # the run's records that failed a silver rule
    changes: pa.Table  # (key, from_ts, to_ts): facts of a key in [from, to) may see another version; null = open
    received: int  # the run's bronze rows
    versions_added: int


def merge_versions(
    bronze: pa.Table,
    history: pa.Table | None,
    days: list[date],
    key: str,
    cleaned_columns: dict[str, str],
    failure_checks: list[str],
    derived_columns: dict[str, str] | None = None,
    params: dict | None = None,
) -> DimensionResult:
    """Merge the bronze rows of ``days`` into ``history`` (the stored versions, or None the first time).

    ``cleaned_columns`` maps each stored column to a SQL expression over the bronze row;
    ``failure_checks`` are SQL expressions yielding 'rule: explanation' or NULL; ``derived_columns`` are
    computed over the whole merged history of a key (``first_landing_date`` is available to them).
    """
    stored_columns = [*cleaned_columns, "valid_from", "landing_date", *LINEAGE]
    outputs = {*stored_columns, "valid_to", "is_current", *(derived_columns or {})}
    if not bronze.num_rows and _holds_none_of(history, days, outputs):
        # A day without the entity's files, whose days the history holds no version of: nothing to add,
        # nothing to replace, so every key keeps its versions as stored (what the merge below would give).
        return DimensionResult(history, QUARANTINE_SCHEMA.empty_table(), CHANGES_SCHEMA.empty_table(), 0, 0)
    con = connect()
    k = quote(key)
    bronze = bronze.append_column("_pos", pa.array(np.arange(bronze.num_rows, dtype=np.int64)))
    con.register("bronze", bronze)
    failures = f"concat_ws('; ', {', '.join(failure_checks)})" if failure_checks else "''"
    cleaned = ", ".join(f"{expr} AS {quote(name)}" for name, expr in cleaned_columns.items())
    checked = arrow(
        con,
        f"""
        SELECT {cleaned}, coalesce(updated_at, CAST(business_date AS TIMESTAMPTZ)) AS valid_from,
               business_date AS landing_date, {", ".join(LINEAGE)}, _ingested_at, _pos, {failures} AS _failures
        FROM bronze
        """,
        params or None,
    )
    con.register("checked", checked)
    cols = ", ".join(quote(c) for c in stored_columns)
    con.register("days", pa.table({"day": pa.array(days, pa.date32())}))
    untouched = None
    if history is not None and history.num_rows:
        con.register("history", history)
        mine = "true"
        if outputs <= set(history.column_names):  # else stored before a column was added: merge every key again
            # Only the keys the run adds a version to, or whose versions it replaces (a re-run of a landing
            # day), are merged again; every other key's versions, validity and derived columns stay as stored.
            touched = arrow(
                con,
                f"""
                SELECT {k} FROM checked WHERE _failures = ''
                UNION SELECT {k} FROM history WHERE landing_date IN (SELECT day FROM days)
                """,
            )
            con.register("touched", touched)
            untouched = arrow(con, f"SELECT * FROM history WHERE {k} NOT IN (SELECT {k} FROM touched)")
            mine = f"{k} IN (SELECT {k} FROM touched)"
        kept_sql = f"SELECT {cols} FROM history WHERE landing_date NOT IN (SELECT day FROM days) AND {mine}"
        old_sql = f"SELECT {cols} FROM history WHERE {mine}"
    else:
        kept_sql = old_sql = f"SELECT {cols} FROM checked WHERE false"
    merged = arrow(
        con,
        f"""
        WITH all_versions AS (
            {kept_sql}
            UNION ALL
            SELECT {cols} FROM checked WHERE _failures = ''
        ), ordered AS (
            SELECT *, lead(valid_from) OVER w AS valid_to,
                   min(landing_date) OVER (PARTITION BY {k}) AS first_landing_date
            FROM all_versions
            WINDOW w AS (PARTITION BY {k} ORDER BY {VERSION_ORDER})
        )
        SELECT * EXCLUDE (first_landing_date){_derived(derived_columns)},
               valid_to IS NULL AS is_current
        FROM ordered
        ORDER BY {k}, {VERSION_ORDER}
        """,
    )
    con.register("merged", merged)
    if untouched is not None and untouched.num_rows:  # as stored, then the merged keys (row order means nothing)
        merged = pa.concat_tables([untouched.select(merged.column_names).cast(merged.schema), merged])
    # A version's reach: from its own time (or the beginning, for a key's first version) to the next one's.
    reach = f"""
        SELECT {k} AS key,
               CASE WHEN row_number() OVER w > 1 THEN valid_from END AS from_ts,
               lead(valid_from) OVER w AS to_ts, landing_date
        FROM ({{source}})
        WINDOW w AS (PARTITION BY {k} ORDER BY {VERSION_ORDER})
    """
    changes = arrow(
        con,
        f"""
        SELECT DISTINCT key, from_ts, to_ts FROM (
            SELECT * FROM ({reach.format(source=f"SELECT {cols} FROM merged")})
            UNION ALL
            SELECT * FROM ({reach.format(source=old_sql)})
        ) r
        WHERE landing_date IN (SELECT day FROM days)
        ORDER BY key, from_ts NULLS FIRST
        """,
    ).cast(CHANGES_SCHEMA)
    raw = ", ".join(f"{quote(c)} := b.{quote(c)}" for c in bronze.column_names if not c.startswith("_"))
    quarantine = arrow(
        con,
        f"""
        SELECT c.landing_date AS business_date, c._source_file, c._source_row, c._batch_id, c._ingested_at,
               split_part(c._failures, ':', 1) AS rule, c._failures AS detail,
               to_json(struct_pack({raw}))::VARCHAR AS raw_record
        FROM checked c JOIN bronze b ON b._pos = c._pos
        WHERE c._failures <> ''
        ORDER BY c._source_file, c._source_row
        """,
    ).cast(QUARANTINE_SCHEMA)
    added = con.execute("SELECT count(*) FROM checked WHERE _failures = ''").fetchone()[0]
    con.close()
    return DimensionResult(merged, quarantine, changes, bronze.num_rows, int(added))


def _holds_none_of(history: pa.Table | None, days: list[date], outputs: set[str]) -> bool:
    """The stored history has every output column and no version that landed on one of ``days``."""
    if history is None or not outputs <= set(history.column_names):
        return False
    landed = pc.is_in(history.column("landing_date"), pa.array(days, pa.date32()))
    return not pc.any(landed).as_py()


def _derived(derived: dict[str, str] | None) -> str:
    if not derived:
        return ""
    return "".join(f", {expr} AS {quote(name)}" for name, expr in derived.items())


def affected_dates_sql(fact: str, key_column: str, ts_column: str, date_column: str) -> str:
    """SQL over ``{fact}`` and ``changes``: the fact dates with a row whose version may have changed."""
    return f"""
        SELECT DISTINCT f.{quote(date_column)} AS d
        FROM {fact} f JOIN changes c ON f.{quote(key_column)} = c.key
        WHERE (c.from_ts IS NULL OR f.{quote(ts_column)} >= c.from_ts)
          AND (c.to_ts IS NULL OR f.{quote(ts_column)} < c.to_ts)
    """


def as_of_join_sql(
    fact: str, dimension: str, fact_key: str, dim_key: str, ts: str, columns: dict[str, str]
) -> tuple[str, str]:
    """FROM/SELECT fragments that give each fact row the dimension version valid at its time ``ts`` (the
    first version when the fact is older than every version); ``columns`` maps output name -> dim column.
    Versions that never applied (a later version has the same time) are skipped."""
    alias = f"v_{dim_key}"
    first = f"f_{dim_key}"
    effective = f"(SELECT * FROM {dimension} WHERE valid_to IS NULL OR valid_to > valid_from)"
    firsts = f"(SELECT * FROM {effective} QUALIFY row_number() OVER (PARTITION BY {quote(dim_key)} ORDER BY {VERSION_ORDER}) = 1)"
    from_sql = (
        f"{fact} ASOF LEFT JOIN {effective} {alias} ON {fact}.{quote(fact_key)} = {alias}.{quote(dim_key)} "
        f"AND {fact}.{quote(ts)} >= {alias}.valid_from "
        f"LEFT JOIN {firsts} {first} ON {fact}.{quote(fact_key)} = {first}.{quote(dim_key)}"
    )
    select_sql = ", ".join(
        f"CASE WHEN {alias}.{quote(dim_key)} IS NOT NULL THEN {alias}.{quote(c)} ELSE {first}.{quote(c)} END AS {quote(n)}"
        for n, c in columns.items()
    )
    known = f"({first}.{quote(dim_key)} IS NOT NULL)"
    return from_sql, select_sql + f", {known} AS {quote(fact_key.removesuffix('_id') + '_known')}"
