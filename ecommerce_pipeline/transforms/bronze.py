"""Bronze: validate one day's landing records against the contract, row by row, in one SQL pass.

Valid rows keep every contract column (typed) plus lineage; failing rows go to quarantine with their
raw values, the first rule they broke and a detail naming every broken rule. Bronze keeps duplicates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa

from ecommerce_pipeline.contract import Column, Entity
from ecommerce_pipeline.transforms.landing import ParsedFile
from ecommerce_pipeline.transforms.sql import arrow, connect, literal, quote

QUARANTINE_SCHEMA = pa.schema(
    [
        ("business_date", pa.date32()),
        ("_source_file", pa.string()),
        ("_source_row", pa.int64()),
        ("_batch_id", pa.string()),
        ("_ingested_at", pa.timestamp("us", tz="UTC")),
        ("rule", pa.string()),
        ("detail", pa.string()),
        ("raw_record", pa.string()),
    ]
)

TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")


@dataclass
class BronzeResult:
    valid: pa.Table
    quarantine: pa.Table
    landing_rows: int
    files: int
    extra_columns: dict[str, list[str]] = field(default_factory=dict)


def _typed(col: Column, v: str) -> str:
    if col.type == "string":
        return f"lower({v})" if col.allowed else v
    if col.type == "integer":
        d = f"TRY_CAST({v} AS DOUBLE)"
        return f"CASE WHEN isfinite({d}) AND {d} = trunc({d}) THEN TRY_CAST({d} AS BIGINT) END"
    if col.type == "number":
        d = f"TRY_CAST({v} AS DOUBLE)"
        return f"CASE WHEN isfinite({d}) THEN {d} END"
    if col.type == "boolean":
        t = ", ".join(map(literal, TRUE_WORDS))
        f = ", ".join(map(literal, FALSE_WORDS))
        return f"CASE WHEN lower({v}) IN ({t}) THEN true WHEN lower({v}) IN ({f}) THEN false END"
    if col.type == "date":
        return f"coalesce(TRY_CAST({v} AS DATE), TRY_CAST(TRY_CAST({v} AS TIMESTAMPTZ) AS DATE))"
    if col.type == "timestamp":
        return f"TRY_CAST({v} AS TIMESTAMPTZ)"
    raise ValueError(col.type)


def _failures(col: Column, v: str, typed: str) -> list[str]:
    """SQL expressions that yield 'rule: explanation' when the column breaks that rule, else NULL."""
    name = col.name
    shown = literal(f"{name}") if col.pii else f"{literal(name + '=')} || left({v}, 60)"
    checks = []
    if col.required:
        checks.append(f"CASE WHEN {v} IS NULL THEN {literal(f'required: {name} is missing')} END")
    if col.type != "string":
        checks.append(
            f"CASE WHEN {v} IS NOT NULL AND {typed} IS NULL THEN 'type: ' || {shown} || {literal(f' is not a {col.type}')} END"
        )
    for rule in col.rules:
        if rule == "positive":
            cond, text = f"{typed} <= 0", " must be greater than zero"
        elif rule == "non_negative":
            cond, text = f"{typed} < 0", " must not be negative"
        elif rule == "one_of":
            allowed = ", ".join(map(literal, col.allowed))
            cond, text = f"{typed} NOT IN ({allowed})", f" is not one of {', '.join(col.allowed)}"
        elif rule == "past_date":
            cond, text = (
                f"({typed} > $business_date OR {typed} < DATE '1900-01-01')",
                " is in the future or before 1900",
            )
        elif rule == "plausible_timestamp":
            cond = f"({typed} < TIMESTAMPTZ '2000-01-01 00:00:00+00' OR {typed} >= $business_date + INTERVAL 2 DAY)"
            text = " is before 2000 or more than a day after the batch's day"
        else:
            raise ValueError(rule)
        checks.append(f"CASE WHEN {cond} THEN '{rule}: ' || {shown} || {literal(text)} END")
    return checks


def validation_sql(entity: Entity) -> str:
    """One SELECT over ``normalized`` returning typed columns plus ``_failures`` ('' when the row is valid)."""
    typed_cols, failures = [], []
    for col in entity.columns:
        v = f"NULLIF(trim({quote(col.name)}), '')"
        typed = _typed(col, v)
        typed_cols.append(f"{typed} AS {quote(col.name)}")
        failures.extend(_failures(col, v, typed))
    raw_cols = ", ".join(f"{quote(c.name)} := {quote(c.name)}" for c in entity.columns)
    return f"""
        SELECT
            $business_date AS business_date,
            {", ".join(typed_cols)},
            _source_file, _source_row, $batch_id AS _batch_id, $ingested_at AS _ingested_at, _extra_columns,
            concat_ws('; ', {", ".join(failures)}) AS _failures,
            to_json(struct_pack({raw_cols})) AS _raw_record
        FROM normalized
    """


def _normalize_file(con, entity: Entity, parsed: ParsedFile) -> tuple[pa.Table | None, list[str], list[str]]:
    """Map one file's columns onto the contract: missing optional columns become NULL, extras go to JSON."""
    present = {c.lower(): c for c in parsed.records.column_names if c != "_source_row"}
    missing_required = [c for c in entity.required if c not in present]
    extras = [c for lower, c in present.items() if lower not in entity.column_names]
    selects = [
        f"{quote(present[c.name])} AS {quote(c.name)}" if c.name in present else f"NULL::VARCHAR AS {quote(c.name)}"
        for c in entity.columns
    ]
    extra_json = (
        "to_json(struct_pack(" + ", ".join(f"{quote(e)} := {quote(e)}" for e in extras) + "))"
        if extras
        else "NULL::VARCHAR"
    )
    con.register("file_records", parsed.records)
    table = arrow(
        con,
        f"SELECT {', '.join(selects)}, {literal(parsed.name)} AS _source_file, _source_row, "
        f"{extra_json} AS _extra_columns FROM file_records",
    )
    con.unregister("file_records")
    return table, missing_required, extras


def validate_batch(
    entity: Entity, files: list[ParsedFile], business_date: date, batch_id: str, ingested_at: datetime
) -> BronzeResult:
    con = connect()
    params = {"business_date": business_date, "batch_id": batch_id, "ingested_at": ingested_at}
    normalized, quarantined, extras_by_file = [], [], {}
    for parsed in files:
        table, missing_required, extras = _normalize_file(con, entity, parsed)
        if extras:
            extras_by_file[parsed.name] = extras
        if missing_required:
            # Without a required column no row of the file can be valid; each row is quarantined on its own.
            detail = f"missing_required_column: {', '.join(missing_required)} not in the file's header"
            quarantined.append(_whole_file_rejects(con, parsed, detail, params))
        else:
            normalized.append(table)
        quarantined.append(_parser_rejects(parsed, params))

    empty = arrow(
        con,
        "SELECT "
        + ", ".join(f"NULL::VARCHAR AS {quote(c)}" for c in entity.column_names)
        + ", NULL::VARCHAR AS _source_file, NULL::BIGINT AS _source_row, NULL::VARCHAR AS _extra_columns LIMIT 0",
    )
    con.register("normalized", pa.concat_tables([empty, *normalized]))
    con.execute(f"CREATE TEMP TABLE checked AS {validation_sql(entity)}", params)
    valid_cols = [
        "business_date",
        *map(quote, entity.column_names),
        *("_source_file", "_source_row", "_batch_id", "_ingested_at", "_extra_columns"),
    ]
    valid = arrow(
        con, f"SELECT {', '.join(valid_cols)} FROM checked WHERE _failures = '' ORDER BY _source_file, _source_row"
    )
    rejected = arrow(
        con,
        """SELECT business_date, _source_file, _source_row, _batch_id, _ingested_at,
                  split_part(_failures, ':', 1) AS rule, _failures AS detail,
                  CASE WHEN _extra_columns IS NULL THEN _raw_record
                       ELSE json_merge_patch(_raw_record, _extra_columns)::VARCHAR END AS raw_record
           FROM checked WHERE _failures <> ''""",
    )
    con.close()
    quarantine = pa.concat_tables([rejected.cast(QUARANTINE_SCHEMA), *quarantined]).sort_by(
        [("_source_file", "ascending"), ("_source_row", "ascending")]
    )
    return BronzeResult(
        valid=valid,
        quarantine=quarantine,
        landing_rows=sum(f.landing_rows for f in files),
        files=len(files),
        extra_columns=extras_by_file,
    )


def _whole_file_rejects(con, parsed: ParsedFile, detail: str, params: dict) -> pa.Table:
    fields = ", ".join(f"{quote(c)} := {quote(c)}" for c in parsed.records.column_names if c != "_source_row")
    con.register("file_records", parsed.records)
    out = arrow(
        con,
        f"""SELECT $business_date AS business_date, {literal(parsed.name)} AS _source_file, _source_row,
                   $batch_id AS _batch_id, $ingested_at AS _ingested_at, 'missing_required_column' AS rule,
                   {literal(detail)} AS detail, to_json(struct_pack({fields}))::VARCHAR AS raw_record
            FROM file_records""",
        params,
    )
    con.unregister("file_records")
    return out.cast(QUARANTINE_SCHEMA)


def _parser_rejects(parsed: ParsedFile, params: dict) -> pa.Table:
    n = parsed.rejects.num_rows
    return pa.table(
        {
            "business_date": pa.array([params["business_date"]] * n, pa.date32()),
            "_source_file": pa.array([parsed.name] * n, pa.string()),
            "_source_row": parsed.rejects.column("_source_row"),
            "_batch_id": pa.array([params["batch_id"]] * n, pa.string()),
            "_ingested_at": pa.array([params["ingested_at"]] * n, pa.timestamp("us", tz="UTC")),
            "rule": parsed.rejects.column("rule"),
            "detail": parsed.rejects.column("detail"),
            "raw_record": parsed.rejects.column("raw_record"),
        },
        schema=QUARANTINE_SCHEMA,
    )


def describe_extras(extras: dict[str, list[str]]) -> str:
    return json.dumps(extras, sort_keys=True)
