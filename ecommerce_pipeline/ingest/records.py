"""What every reader returns: a file's raw string records, numbered from the file, and its rejects.

A row a reader cannot read becomes a reject carrying its row number and the reader's words; a file that
cannot be read at all becomes a single ``unparseable_file`` reject for row 0. Nothing is dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# No contract column needs more; a longer value is a broken export (an unclosed quote swallowing lines,
# a blob in a name field) and would bloat every layer downstream.
MAX_FIELD_CHARS = 10_000
# Raw values kept in quarantine for an oversized row are cut to this length.
RAW_PREVIEW_CHARS = 200

REJECT_SCHEMA = pa.schema(
    [("_source_row", pa.int64()), ("rule", pa.string()), ("detail", pa.string()), ("raw_record", pa.string())]
)


@dataclass
class ParsedFile:
    """Raw records of one file (all values strings, ``_source_row`` numbered from the file) and its rejects.

    ``duplicate_columns`` lists header names that occur more than once (compared case-insensitively,
    after trimming), as the file wrote them: such a file cannot say which value a column holds.
    """

    name: str
    records: pa.Table
    rejects: pa.Table
    duplicate_columns: list[tuple[str, str]] = field(default_factory=list)

    @property
    def landing_rows(self) -> int:
        return self.records.num_rows + self.rejects.num_rows

    @property
    def unreadable(self) -> bool:
        """The parser could not read the file at all: its bytes belong in quarantine as a whole."""
        return self.rejects.num_rows > 0 and "unparseable_file" in self.rejects.column("rule").to_pylist()

    def with_quarantined_copy(self, location: str) -> ParsedFile:
        """Point the unreadable file's reject at the copy of its bytes kept in quarantine."""
        raw = pc.if_else(
            pc.equal(self.rejects.column("rule"), "unparseable_file"),
            json.dumps({"quarantined_file": location}),
            self.rejects.column("raw_record"),
        )
        return ParsedFile(self.name, self.records, self.rejects.set_column(3, "raw_record", raw))


def rejects_table(rows: list[tuple[int, str, str, str | None]]) -> pa.Table:
    cols = list(zip(*rows)) if rows else [[], [], [], []]
    return pa.Table.from_arrays([pa.array(c, t.type) for c, t in zip(cols, REJECT_SCHEMA)], schema=REJECT_SCHEMA)


def empty_records() -> pa.Table:
    return pa.table({"_source_row": pa.array([], pa.int64())})


def unreadable(name: str, exc: Exception) -> ParsedFile:
    return ParsedFile(
        name, empty_records(), rejects_table([(0, "unparseable_file", f"{type(exc).__name__}: {exc}", None)])
    )


def numbered(name: str, records: pa.Table, first_row: int = 1) -> ParsedFile:
    """Records numbered ``first_row``, ``first_row + 1``, ... in file order, with no rejects."""
    rows = pa.array(np.arange(first_row, first_row + records.num_rows, dtype=np.int64))
    return ParsedFile(name, records.append_column("_source_row", rows), rejects_table([]))


def duplicate_names(names: list[str]) -> list[tuple[str, str]]:
    """Pairs (first, repeat) of names equal after trimming and case-folding, in header order."""
    first: dict[str, str] = {}
    pairs = []
    for name in names:
        folded = name.strip().casefold()
        if folded in first:
            pairs.append((first[folded], name))
        else:
            first[folded] = name
    return pairs


def reject_oversized(parsed: ParsedFile) -> ParsedFile:
    """Rows holding a value longer than MAX_FIELD_CHARS become rejects naming the column and its length."""
    records = parsed.records
    value_columns = [n for n in records.column_names if n != "_source_row"]
    # A value has at least as many bytes as characters: columns whose longest value fits in the
    # limit in bytes need no character count (the common case, and the cheap one).
    suspects = [
        n for n in value_columns if (pc.max(pc.binary_length(records.column(n))).as_py() or 0) > MAX_FIELD_CHARS
    ]
    if not suspects:
        return parsed
    lengths = {n: pc.fill_null(pc.utf8_length(records.column(n)), 0) for n in value_columns}
    too_long = {n: pc.greater(v, MAX_FIELD_CHARS) for n, v in lengths.items()}
    if not any(pc.any(m).as_py() for m in too_long.values()):
        return parsed
    bad = np.zeros(records.num_rows, dtype=bool)
    for mask in too_long.values():
        bad |= mask.to_numpy(zero_copy_only=False)
    rejects = []
    for i in np.flatnonzero(bad):
        row = {n: records.column(n)[int(i)].as_py() for n in value_columns}
        long_cols = [
            f"{n} ({lengths[n][int(i)].as_py():,} characters)" for n in value_columns if too_long[n][int(i)].as_py()
        ]
        raw = {
            n: v if v is None or len(v) <= RAW_PREVIEW_CHARS else v[:RAW_PREVIEW_CHARS] + "…" for n, v in row.items()
        }
        rejects.append(
            (
                records.column("_source_row")[int(i)].as_py(),
                "oversized_field",
                f"{', '.join(long_cols)} longer than the {MAX_FIELD_CHARS:,}-character limit",
                json.dumps(raw),
            )
        )
    kept = records.filter(pa.array(~bad))
    merged = pa.concat_tables([parsed.rejects, rejects_table(rejects)]).sort_by("_source_row")
    return ParsedFile(parsed.name, kept, merged, parsed.duplicate_columns)


def stringify(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A typed column (Parquet, inferred JSON) as the text a CSV export would hold: integers as their
    decimal digits, booleans as true/false, times in ISO 8601, nested values as JSON."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_dictionary(column.type):
        return stringify(column.cast(column.type.value_type))
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, "true", "false")
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            return pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
        return pc.strftime(column.cast(pa.timestamp("us", tz="UTC")), format="%Y-%m-%dT%H:%M:%S%z")
    try:
        return column.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.chunked_array(
            [pa.array([None if v is None else json.dumps(v, default=str) for v in column.to_pylist()], pa.string())]
        )
