"""Bronze: validate one day's landing records against the contract, row by row, in one SQL pass.

Valid rows keep every contract column (typed) plus lineage; failing rows go to quarantine with their
raw values, the first rule they broke and a detail naming every broken rule. Bronze keeps duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.contract import MONEY_PRECISION, MONEY_SCALE, Column, Entity
from ecommerce_pipeline.ingest import ParsedFile
from ecommerce_pipeline.ingest.dispatch import CHUNK_ROWS
from ecommerce_pipeline.transforms.sql import (
    arrow,
    connect,
    literal,
    query,
    quote,
    trim_unicode_whitespace,
    trimmed_or_null,
)

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
    landing_rows_by_file: dict[str, int] = field(default_factory=dict)


MONEY_SQL = f"DECIMAL({MONEY_PRECISION},{MONEY_SCALE})"
# Wider than money, to tell a value with more than two decimal places from one that has two.
EXACT_SQL = "DECIMAL(38,10)"
# Columns whose invalid values are recorded as field issues: bronze keeps them as this JSON list.
FIELD_ISSUES_COLUMN = "_field_issues"
TYPE_WORDS = {"money": "number"}  # how a type is named in a "type" detail


def _raw_value(col: Column, column_in_file: str) -> str:
    """The trimmed text of a value, or NULL when empty. Ids lose every Unicode whitespace character at either
    end and a zero fraction (9001.0 -> 9001); see ``contract.IDENTIFIER_RULE``."""
    if not col.identifier:
        return trimmed_or_null(column_in_file)
    t = trim_unicode_whitespace(column_in_file)
    whole = f"CASE WHEN contains({t}, '.') AND regexp_full_match({t}, '[0-9]+\\.0+') THEN split_part({t}, '.', 1) ELSE {t} END"
    return f"NULLIF({whole}, '')"


def _typed(col: Column, v: str) -> str:
    # Python's and DuckDB's number syntax accept '_' between digits (1_299.00); no export writes numbers so.
    plain = f"NOT contains({v}, '_')"
    if col.type == "string":
        return f"lower({v})" if col.allowed else v
    if col.type == "integer":
        d = f"TRY_CAST({v} AS DOUBLE)"
        return f"CASE WHEN {plain} AND isfinite({d}) AND {d} = trunc({d}) THEN TRY_CAST({d} AS BIGINT) END"
    if col.type == "number":
        d = f"TRY_CAST({v} AS DOUBLE)"
        return f"CASE WHEN {plain} AND isfinite({d}) THEN {d} END"
    if col.type == "money":
        return f"CASE WHEN {plain} THEN TRY_CAST({v} AS {MONEY_SQL}) END"
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
            f"CASE WHEN {v} IS NOT NULL AND {typed} IS NULL THEN 'type: ' || {shown} || {literal(f' is not a {TYPE_WORDS.get(col.type, col.type)}')} END"
        )
    if col.type == "money":
        checks.append(
            f"CASE WHEN TRY_CAST({v} AS {EXACT_SQL}) <> {typed} "
            f"THEN 'money_precision: ' || {shown} || ' has more than {MONEY_SCALE} decimal places' END"
        )
    if col.maximum is not None:
        checks.append(
            f"CASE WHEN {typed} > {col.maximum} "
            f"THEN 'upper_bound: ' || {shown} || {literal(f' is above the plausible maximum {col.maximum:,}')} END"
        )
    for rule in col.rules:
        if rule in ("valid_email", "valid_phone"):
            continue  # checked in silver with the libraries (transforms/field_quality.py)
        if rule == "positive":
            cond, text = f"{typed} <= 0", " must be greater than zero"
        elif rule == "non_negative":
            cond, text = f"{typed} < 0", " must not be negative"
        elif rule == "one_of":
            allowed = ", ".join(map(literal, col.allowed))
            cond, text = f"{typed} NOT IN ({allowed})", f" is not one of {', '.join(col.allowed)}"
        elif rule == "past_date":
            cond, text = (
                f"({typed} > business_date OR {typed} < DATE '1900-01-01')",
                " is in the future or before 1900",
            )
        elif rule == "plausible_timestamp":
            cond = f"({typed} < TIMESTAMPTZ '2000-01-01 00:00:00+00' OR {typed} >= business_date + INTERVAL 2 DAY)"
            text = " is before 2000 or more than a day after the batch's day"
        else:
            raise ValueError(rule)
        checks.append(f"CASE WHEN {cond} THEN '{rule}: ' || {shown} || {literal(text)} END")
    return checks


def validation_sql(
    entity: Entity, present: dict[str, str], extras: list[str], day: str = "$business_date", position: str = ""
) -> str:
    """One SELECT over a file's raw records returning typed columns plus ``_failures`` ('' when valid).

    ``present`` maps each contract column found in the file to its name there; absent ones are NULL.
    ``day`` is the SQL of each record's business day: a parameter for one day's file, a column when the
    records of many days' files are validated together. ``position``, when given, is a column carried to
    the end of the output as ``_position``: DuckDB may return rows in another order than it read them.
    The per-file lineage constants are added afterwards (``with_lineage``).
    """
    # The inner SELECT trims and types each value once; the middle one checks the rules on the results; the
    # outer one nulls invalid values of columns that only lose the value (``on_invalid="null"``), keeping
    # what was wrong in ``_field_issues``.
    inner, failures, field_failures = [], [], {}
    for col in entity.columns:
        raw = _raw_value(col, quote(present[col.name])) if col.name in present else "NULL::VARCHAR"
        v, typed = quote(f"raw:{col.name}"), quote(col.name)
        inner += [f"{raw} AS {v}", f"{_typed(col, raw)} AS {typed}"]
        checks = _failures(col, v, typed)
        if col.on_invalid == "null" and not col.required:
            if checks:  # e-mail and phone have none here: silver judges them (field_quality)
                field_failures[col.name] = f"concat_ws('; ', {', '.join(checks)})"
        else:
            failures.extend(checks)
    extra_json = (
        "to_json(struct_pack(" + ", ".join(f"{quote(e)} := {quote(e)}" for e in extras) + "))::VARCHAR"
        if extras
        else "NULL::VARCHAR"
    )
    outputs = [
        f"CASE WHEN {quote('fail:' + c)} = '' THEN {quote(c)} END AS {quote(c)}" if c in field_failures else quote(c)
        for c in entity.column_names
    ]
    lineage = ["_source_row", "_ingested_at", "_extra_columns"]
    if field_failures:
        issues = ", ".join(
            f"CASE WHEN {quote('fail:' + c)} <> '' THEN struct_pack(column_name := {literal(c)}, "
            f"raw_value := {quote('raw:' + c)}, rule := split_part({quote('fail:' + c)}, ':', 1), "
            f"detail := {quote('fail:' + c)}) END"
            for c in field_failures
        )
        any_issue = " OR ".join(f"{quote('fail:' + c)} <> ''" for c in field_failures)
        lineage.append(
            f"CASE WHEN {any_issue} THEN to_json(list_filter([{issues}], lambda x: x IS NOT NULL))::VARCHAR END "
            f"AS {FIELD_ISSUES_COLUMN}"
        )
    checked = [*(quote(c) for c in entity.column_names), *(quote(f"raw:{c}") for c in field_failures)]
    carried = ", _position" if position else ""
    return f"""
        SELECT business_date, {", ".join(outputs)}, {", ".join(lineage)}, _failures{carried}
        FROM (
            SELECT
                business_date,
                {", ".join(checked)},
                _source_row, $ingested_at AS _ingested_at, _extra_columns,
                {"".join(f"{e} AS {quote('fail:' + c)}, " for c, e in field_failures.items())}
                concat_ws('; ', {", ".join(failures)}) AS _failures{carried}
            FROM (
                SELECT {day} AS business_date, {", ".join(inner)}, _source_row, {extra_json} AS _extra_columns
                    {f", {position} AS _position" if position else ""}
                FROM file_records
            )
        )
    """


# A file's name and its batch id are the same on every row: dictionary columns hold them once, not per row.
LINEAGE_CONSTANT = pa.dictionary(pa.int32(), pa.string())


def constant_column(value: str, rows: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array([value], pa.string()))


def with_lineage(checked: pa.Table, source_file: str, batch_id: str) -> pa.Table:
    """Insert ``_source_file`` before ``_source_row`` and ``_batch_id`` after it."""
    at = checked.column_names.index("_source_row")
    checked = checked.add_column(
        at, pa.field("_source_file", LINEAGE_CONSTANT), constant_column(source_file, len(checked))
    )
    return checked.add_column(at + 2, pa.field("_batch_id", LINEAGE_CONSTANT), constant_column(batch_id, len(checked)))


def _distinct_names(records: pa.Table) -> pa.Table:
    """Names made distinct case-insensitively (SQL names are): a repeat becomes ``name (column N)``."""
    seen: set[str] = set()
    names = []
    for position, name in enumerate(records.column_names, start=1):
        unique = name if name.casefold() not in seen else f"{name} (column {position})"
        seen.add(unique.casefold())
        names.append(unique)
    return records.rename_columns(names)


def _raw_json(con, records: pa.Table) -> pa.Table:
    """Each record's raw values, as the file had them, as a JSON object (for quarantine)."""
    fields = ", ".join(f"{quote(c)} := {quote(c)}" for c in records.column_names if c != "_source_row")
    con.register("raw_records", records)
    out = arrow(con, f"SELECT to_json(struct_pack({fields}))::VARCHAR AS raw_record FROM raw_records")
    con.unregister("raw_records")
    return out


def _columns_of(entity: Entity, names: list[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """For a file's header: the contract columns it has (contract name -> its name there), its extra columns
    and the required columns it lacks. Names are matched case-insensitively."""
    present = {c.lower(): c for c in names if c != "_source_row"}
    contract = {c: present[c] for c in entity.column_names if c in present}
    extras = [c for lower, c in present.items() if lower not in entity.column_names]
    return contract, extras, [c for c in entity.required if c not in present]


def _reject_whole(con, entity: Entity, parsed: ParsedFile, params: dict) -> pa.Table | None:
    """Every row of a file whose header makes no row trustworthy, as rejects; None for any other file."""
    _, _, missing_required = _columns_of(entity, parsed.records.column_names)
    if parsed.duplicate_columns:
        # The file cannot say which of two same-named columns holds the value: no row of it can be trusted.
        pairs = "; ".join(f"{a!r} and {b!r}" for a, b in parsed.duplicate_columns)
        detail = f"duplicate_column: the header names a column twice ({pairs})"
        raw = _raw_json(con, _distinct_names(parsed.records)).column("raw_record")
        return _rejected(parsed, parsed.records.column("_source_row"), detail, raw, params)
    if missing_required:
        # Without a required column no row of the file can be valid; each row is quarantined on its own.
        detail = f"missing_required_column: {', '.join(missing_required)} not in the file's header"
        raw = _raw_json(con, parsed.records).column("raw_record")
        return _rejected(parsed, parsed.records.column("_source_row"), detail, raw, params)
    return None


def _free_name(taken: list[str], name: str) -> str:
    """``name``, or ``name`` with underscores before it, so that it is none of ``taken`` (in any case)."""
    lowered = {t.lower() for t in taken}
    while name.lower() in lowered:
        name = "_" + name
    return name


def _check_together(con, entity: Entity, parts: list[_Part], ingested_at: datetime) -> None:
    """Validate chunks of files of any days that share one header in one statement, and give each chunk its
    valid rows and its rejects."""
    names = parts[0].parsed.records.column_names
    contract, extras, _ = _columns_of(entity, names)
    lengths = np.array([p.parsed.records.num_rows for p in parts], dtype=np.int64)
    records = pa.concat_tables([p.parsed.records for p in parts])
    day_numbers = np.array([(p.day.params["business_date"] - EPOCH).days for p in parts], dtype=np.int32)
    day_column, position_column = _free_name(names, "business_date"), _free_name(names, "_position")
    days = pa.array(np.repeat(day_numbers, lengths)).cast(pa.date32())
    positions = pa.array(np.arange(records.num_rows, dtype=np.int64))
    con.register("file_records", records.append_column(day_column, days).append_column(position_column, positions))
    sql = validation_sql(entity, contract, extras, day=quote(day_column), position=quote(position_column))
    checked = arrow(con, sql, {"ingested_at": ingested_at})
    con.unregister("file_records")
    # Each chunk's rows are cut out of the result by position, so the rows are put back in the order read.
    checked = in_read_order(checked, checked.column("_position").to_numpy()).drop(["_position"])
    passed = pc.equal(checked.column("_failures"), "")
    failing = pc.invert(passed).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    # Rejects need each failing record's raw values, as the file had them: one statement for the whole header.
    failures_before = np.concatenate([[0], np.cumsum(failing)])
    raw_json = _raw_json(con, records.filter(pa.array(failing))).column("raw_record") if failures_before[-1] else None
    for part, start, n in zip(parts, starts, lengths):
        piece = checked.slice(start, n)
        failed_here = int(failures_before[start + n] - failures_before[start])
        valid = piece.filter(passed.slice(start, n)) if failed_here else piece
        part.file.valid[part.slot] = with_lineage(
            valid.drop(["_failures"]), part.parsed.name, part.day.params["batch_id"]
        )
        if failed_here:
            failed = piece.filter(pc.invert(passed.slice(start, n)))
            raw = raw_json.slice(int(failures_before[start]), failed_here)
            rejects = _rejected(
                part.parsed, failed.column("_source_row"), failed.column("_failures"), raw, part.day.params
            )
            part.file.quarantine.append(rejects)


def in_read_order(table: pa.Table, positions: np.ndarray) -> pa.Table:
    """``table``'s rows ordered by ``positions`` (each row's place in the input, every place once). DuckDB's
    threads hand a statement's rows back in blocks of consecutive places, the blocks out of order (686 blocks
    for 4.5 million events): the blocks are put in order as slices, and no row is copied. Taking the rows one
    by one copied every column (2.5 s for those events) and held the day twice."""
    if len(positions) < 2 or np.all(positions[1:] > positions[:-1]):
        return table
    starts = np.concatenate([[0], np.flatnonzero(np.diff(positions) != 1) + 1])
    if len(starts) > len(positions) // 64:  # scattered rows, not blocks: slices would cost more than a copy
        return table.take(np.argsort(positions, kind="stable"))
    ends = np.append(starts[1:], len(positions))
    return pa.concat_tables(
        [table.slice(int(starts[i]), int(ends[i] - starts[i])) for i in np.argsort(positions[starts], kind="stable")]
    )


def _rejected(parsed: ParsedFile, rows, failures, raw, params: dict) -> pa.Table:
    n = len(rows)
    if isinstance(failures, str):
        failures = pa.array([failures] * n, pa.string())
    return pa.table(
        {
            "business_date": pa.array([params["business_date"]] * n, pa.date32()),
            "_source_file": pa.array([parsed.name] * n, pa.string()),
            "_source_row": rows,
            "_batch_id": pa.array([params["batch_id"]] * n, pa.string()),
            "_ingested_at": pa.array([params["ingested_at"]] * n, pa.timestamp("us", tz="UTC")),
            "rule": pc.list_element(pc.split_pattern(failures, ":", max_splits=1), 0),
            "detail": failures,
            "raw_record": raw,
        },
        schema=QUARANTINE_SCHEMA,
    )


# The typed bronze table with no rows, by the validation SQL that makes it: a day without files still has a
# schema, and running the SQL for it costs about 40 ms, once per entity and day of a year-long backfill.
_EMPTY_VALID: dict[str, pa.Table] = {}


def _empty_valid(entity: Entity) -> pa.Table:
    sql = validation_sql(entity, {c: c for c in entity.column_names}, [], day="NULL::DATE")
    if sql not in _EMPTY_VALID:
        empty = pa.table(
            {**{c: pa.array([], pa.string()) for c in entity.column_names}, "_source_row": pa.array([], pa.int64())}
        )
        _EMPTY_VALID[sql] = with_lineage(
            query(sql, {"ingested_at": datetime(1970, 1, 1, tzinfo=UTC)}, file_records=empty), "", ""
        ).drop(["_failures"])
    return _EMPTY_VALID[sql]


@dataclass
class _File:
    """One file (or archive member) of a day, as its chunks are validated."""

    name: str
    valid: list[pa.Table | None] = field(default_factory=list)  # one slot per chunk, filled when it is checked
    quarantine: list[pa.Table] = field(default_factory=list)
    rows: int = 0
    extras: list[str] = field(default_factory=list)
    unreadable: bool = False


@dataclass
class _Day:
    params: dict  # business_date, batch_id, ingested_at
    files: list[_File] = field(default_factory=list)


@dataclass
class _Part:
    """A chunk of a file waiting to be validated, and the slot of its file that takes its valid rows."""

    day: _Day
    file: _File
    slot: int
    parsed: ParsedFile


EPOCH = date(1970, 1, 1)
# Running the validation statement costs about 40 ms however few rows it reads (its rule expressions are
# planned again each time): a year of small days validated one file at a time spent most of its time there.
# Chunks of consecutive days therefore wait, up to DAY_BATCH_ROWS rows when a day ends and CHUNK_ROWS at any
# time, and the chunks that share a header are validated in one statement.
DAY_BATCH_ROWS = 50_000


class Validation:
    """Validates the landing files of many days, a day at a time as they are given, with as few statements as
    their headers allow, and hands back each day's ``BronzeResult`` once all its chunks are validated. It holds
    at most about ``CHUNK_ROWS`` raw records, so a long single-run backfill does not hold its whole range.
    """

    def __init__(self, entity: Entity, ingested_at: datetime, day_batch_rows: int = DAY_BATCH_ROWS):
        self.entity, self.ingested_at, self.day_batch_rows = entity, ingested_at, day_batch_rows
        self._pending: list[_Part] = []
        self._pending_rows = 0
        self._closed: list[_Day] = []
        self._con = connect()

    def add_day(
        self,
        business_date: date,
        batch_id: str,
        files: Iterable[ParsedFile | Iterable[ParsedFile]],
        keep_unreadable: Callable[[str], str] | None = None,
    ) -> list[tuple[date, BronzeResult]]:
        """Take a day's files, each given whole or as a stream of chunks (``parse_landing``); return the days
        whose validation this completed, in order.

        A file that turns out unreadable is reduced to its single ``unparseable_file`` reject, whatever its
        earlier chunks held; ``keep_unreadable(name)`` keeps its bytes and returns where.
        """
        day = _Day({"business_date": business_date, "batch_id": batch_id, "ingested_at": self.ingested_at})
        done = []
        for item in files:
            file = None
            for parsed in [item] if isinstance(item, ParsedFile) else item:
                if file is None:
                    file = _File(parsed.name)
                    day.files.append(file)
                if parsed.unreadable:
                    location = keep_unreadable(parsed.name) if keep_unreadable else None
                    parsed = parsed.with_quarantined_copy(location) if location else parsed
                    file.valid, file.quarantine, file.extras = [], [_parser_rejects(parsed, day.params)], []
                    file.rows, file.unreadable = parsed.landing_rows, True
                    break
                file.rows += parsed.landing_rows
                file.extras = _columns_of(self.entity, parsed.records.column_names)[1]
                file.quarantine.append(_parser_rejects(parsed, day.params))
                # What waits is validated before a chunk would take it over CHUNK_ROWS, and a full chunk at once:
                # one statement never reads more than CHUNK_ROWS rows, or one chunk.
                if self._pending_rows + parsed.records.num_rows > CHUNK_ROWS:
                    self._check_pending()
                file.valid.append(None)
                self._pending.append(_Part(day, file, len(file.valid) - 1, parsed))
                self._pending_rows += parsed.records.num_rows
                if self._pending_rows >= CHUNK_ROWS:
                    self._check_pending()
        self._closed.append(day)
        if self._pending_rows >= self.day_batch_rows:
            self._check_pending()
        if not self._pending:
            done += self._completed()
        return done

    def finish(self) -> list[tuple[date, BronzeResult]]:
        """Validate what still waits and return the days it completes."""
        self._check_pending()
        self._con.close()
        return self._completed()

    def _check_pending(self) -> None:
        parts = [p for p in self._pending if not p.file.unreadable]
        self._pending, self._pending_rows = [], 0
        by_header: dict[tuple, list[_Part]] = {}
        for part in parts:
            whole = _reject_whole(self._con, self.entity, part.parsed, part.day.params)
            if whole is not None:  # its valid slot stays empty
                part.file.quarantine.append(whole)
                continue
            by_header.setdefault(tuple(part.parsed.records.schema), []).append(part)
        for same_header in by_header.values():
            _check_together(self._con, self.entity, same_header, self.ingested_at)

    def _completed(self) -> list[tuple[date, BronzeResult]]:
        days, self._closed = self._closed, []
        return [(d.params["business_date"], self._result(d)) for d in days]

    def _result(self, day: _Day) -> BronzeResult:
        valid = [_empty_valid(self.entity), *(v for f in day.files for v in f.valid if v is not None)]
        quarantine = pa.concat_tables([QUARANTINE_SCHEMA.empty_table(), *(q for f in day.files for q in f.quarantine)])
        if quarantine.num_rows:
            quarantine = quarantine.sort_by([("_source_file", "ascending"), ("_source_row", "ascending")])
        rows_by_file, extras_by_file = {}, {}
        for f in day.files:
            rows_by_file[f.name] = rows_by_file.get(f.name, 0) + f.rows
            if f.extras:
                extras_by_file[f.name] = f.extras
        return BronzeResult(
            valid=pa.concat_tables(valid) if len(valid) > 1 else valid[0],
            quarantine=quarantine,
            landing_rows=sum(rows_by_file.values()),
            files=len(rows_by_file),
            extra_columns=extras_by_file,
            landing_rows_by_file=rows_by_file,
        )


def validate_batch(
    entity: Entity,
    files: Iterable[ParsedFile | Iterable[ParsedFile]],
    business_date: date,
    batch_id: str,
    ingested_at: datetime,
    keep_unreadable: Callable[[str], str] | None = None,
) -> BronzeResult:
    """Validate one day's files (see ``Validation.add_day``)."""
    validation = Validation(entity, ingested_at)
    done = validation.add_day(business_date, batch_id, files, keep_unreadable) + validation.finish()
    return done[0][1]


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
