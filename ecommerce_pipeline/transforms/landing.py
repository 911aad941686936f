"""Turn the bytes of one landing file into raw string records, keeping every row accounted for.

A row the parser cannot read becomes a reject carrying its row number and the parser's words; a file
that cannot be read at all becomes a single reject for row 0. Nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

BOM = b"\xef\xbb\xbf"
DELIMITERS = (",", ";", "\t", "|")
SUPPORTED_SUFFIXES = (".csv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".pq")
# No contract column needs more; a longer value is a broken export (an unclosed quote swallowing lines,
# a blob in a name field) and would bloat every layer downstream.
MAX_FIELD_CHARS = 10_000
# Raw values kept in quarantine for an oversized row are cut to this length.
RAW_PREVIEW_CHARS = 200

# Rows parsed and validated at a time: a day's memory follows this, not the size of its files.
CHUNK_ROWS = 500_000
CSV_BLOCK_BYTES = 8 << 20
# A landing file's bytes, or the path of a local file.
Source = bytes | Path

REJECT_SCHEMA = pa.schema(
    [("_source_row", pa.int64()), ("rule", pa.string()), ("detail", pa.string()), ("raw_record", pa.string())]
)


@dataclass
class ParsedFile:
    """Raw records of one file (all values strings, ``_source_row`` numbered from the file) and its rejects."""

    name: str
    records: pa.Table
    rejects: pa.Table

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


def _rejects(rows: list[tuple[int, str, str, str | None]]) -> pa.Table:
    cols = list(zip(*rows)) if rows else [[], [], [], []]
    return pa.Table.from_arrays([pa.array(c, t.type) for c, t in zip(cols, REJECT_SCHEMA)], schema=REJECT_SCHEMA)


def _empty_records() -> pa.Table:
    return pa.table({"_source_row": pa.array([], pa.int64())})


def _unreadable(name: str, exc: Exception) -> ParsedFile:
    return ParsedFile(name, _empty_records(), _rejects([(0, "unparseable_file", f"{type(exc).__name__}: {exc}", None)]))


def parse_landing_chunks(name: str, source: Source, chunk_rows: int = CHUNK_ROWS) -> Iterator[ParsedFile]:
    """Parse CSV, JSON Lines or Parquet (chosen by the file's suffix), a CSV file ``chunk_rows`` rows at a time.

    ``source`` is the file's bytes or a local path (read as a stream, never whole). A file that turns
    out to be unreadable, even after some chunks, ends with a chunk holding only its
    ``unparseable_file`` reject: the consumer discards that file's earlier chunks.
    """
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    try:
        if suffix in (".csv", ".txt"):
            for chunk in _read_ahead(_csv_chunks(name, source, chunk_rows)):
                yield _reject_oversized(chunk)
            return
        if suffix in (".parquet", ".pq"):
            parsed = _parse_parquet(name, _read_all(source))
        elif suffix in (".jsonl", ".ndjson", ".json"):
            parsed = _parse_jsonl(name, _read_all(source))
        else:
            raise ValueError(
                f"unsupported file type {suffix or '(none)'}; expected one of {', '.join(SUPPORTED_SUFFIXES)}"
            )
    except Exception as exc:  # any parser failure quarantines the whole file, never the day
        yield _unreadable(name, exc)
        return
    yield _reject_oversized(parsed)


def _read_ahead(chunks: Iterator[ParsedFile]) -> Iterator[ParsedFile]:
    """Yield ``chunks`` while a thread parses the next one, so parsing overlaps the caller's validation
    (pyarrow and DuckDB release the GIL). A parser error is raised here, in the caller's thread."""
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not offer(("chunk", chunk)):
                    return
            offer(("end", None))
        except Exception as exc:
            offer(("error", exc))
        finally:
            chunks.close()

    thread = threading.Thread(target=produce, name="landing-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "error":
                raise value
            if kind == "end":
                return
            yield value
    finally:
        stop.set()
        thread.join()


def parse_landing_file(name: str, source: Source) -> ParsedFile:
    """The whole file as one ``ParsedFile`` (its chunks put together)."""
    chunks = list(parse_landing_chunks(name, source))
    if chunks[-1].unreadable:
        return chunks[-1]
    if len(chunks) == 1:
        return chunks[0]
    return ParsedFile(
        name,
        pa.concat_tables([c.records for c in chunks]),
        pa.concat_tables([c.rejects for c in chunks]),
    )


def _read_all(source: Source) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def _reject_oversized(parsed: ParsedFile) -> ParsedFile:
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
    merged = pa.concat_tables([parsed.rejects, _rejects(rejects)]).sort_by("_source_row")
    return ParsedFile(parsed.name, kept, merged)


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for raw in names:
        base = raw.strip() or "unnamed"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return out


def _header_line(source: Source) -> bytes | None:
    """The first line without its BOM, or None for an empty (or blank) file."""
    if isinstance(source, bytes):
        head, at_end = source, True
    else:
        head, at_end = b"", False
        with open(source, "rb") as fh:
            # Read on until the header line is complete and the file is known not to be blank.
            while not (b"\n" in head and head.removeprefix(BOM).strip()):
                block = fh.read(1 << 16)
                if not block:
                    at_end = True
                    break
                head += block
    if head.startswith(BOM):
        head = head[len(BOM) :]
    if at_end and (not head or head.isspace()):
        return None
    end = head.find(b"\n")
    return (head if end < 0 else head[:end]).rstrip(b"\r")


def _line_numbers(first: int, count: int, skipped: np.ndarray) -> np.ndarray:
    """The first ``count`` line numbers from ``first`` on that the parser did not reject."""
    ahead = skipped[skipped >= first]
    candidates = np.arange(first, first + count + len(ahead), dtype=np.int64)
    if len(ahead):
        candidates = np.setdiff1d(candidates, ahead, assume_unique=True)
    return candidates[:count]


def _csv_chunks(name: str, source: Source, chunk_rows: int) -> Iterator[ParsedFile]:
    header = _header_line(source)
    if header is None:
        yield ParsedFile(name, _empty_records(), _rejects([]))
        return
    header_text = header.decode("utf-8", errors="replace")
    delimiter = _sniff_delimiter(header_text)
    names = _unique_names(next(csv.reader([header_text], delimiter=delimiter)))
    invalid: list[tuple[int, str, str, str | None]] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        invalid.append(
            (
                row.number,
                "malformed_row",
                f"expected {row.expected_columns} fields, found {row.actual_columns}",
                json.dumps({"_raw_line": row.text}),
            )
        )
        return "skip"

    # A serial stream knows the line number of every malformed row, and holds one block at a time.
    stream = pa.BufferReader(source) if isinstance(source, bytes) else pa.OSFile(str(source))
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False, block_size=CSV_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=on_invalid_row, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.binary() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    next_line = 2  # line 1 is the header
    skipped: list[int] = []  # every malformed line so far: valid records never take their numbers
    pending: list[pa.RecordBatch] = []

    def chunk(rows: int) -> ParsedFile:
        nonlocal next_line, pending
        table = pa.Table.from_batches(pending, schema=reader.schema)
        table, rest = table.slice(0, rows), table.slice(rows)
        pending = rest.to_batches()
        skipped.extend(number for number, *_ in invalid)
        # Valid records fill, in order, the line numbers the parser did not reject.
        lines = _line_numbers(next_line, table.num_rows, np.asarray(skipped, dtype=np.int64))
        if len(lines):
            next_line = int(lines[-1]) + 1
        table, utf8_rejects = _decode_utf8(table, lines)
        rejects = _rejects(sorted(invalid + utf8_rejects))
        invalid.clear()
        return ParsedFile(name, table, rejects)

    chunks = 0
    with stream:
        for batch in reader:
            pending.append(batch)
            while sum(b.num_rows for b in pending) >= chunk_rows:
                yield chunk(chunk_rows)
                chunks += 1
    if pending or invalid or not chunks:
        yield chunk(sum(b.num_rows for b in pending))


def _decode_utf8(table: pa.Table, rows: np.ndarray) -> tuple[pa.Table, list]:
    """Cast binary columns to UTF-8 strings; rows holding invalid bytes become rejects."""
    bad = np.zeros(table.num_rows, dtype=bool)
    decoded = {}
    for name, col in zip(table.column_names, table.columns):
        try:
            decoded[name] = pc.cast(col, pa.string())
        except pa.ArrowInvalid:
            for i, value in enumerate(col.to_pylist()):
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError:
                    bad[i] = True
    rejects = []
    if bad.any():
        for i in np.flatnonzero(bad):
            raw = {n: table.column(n)[int(i)].as_py().decode("utf-8", errors="replace") for n in table.column_names}
            rejects.append(
                (int(rows[i]), "invalid_utf8", "the row holds bytes that are not valid UTF-8", json.dumps(raw))
            )
        table = table.filter(pa.array(~bad))
        rows = rows[~bad]
        decoded = {n: pc.cast(table.column(n), pa.string()) for n in table.column_names}
    decoded = pa.table(decoded)
    decoded = decoded.append_column("_source_row", pa.array(rows, pa.int64()))
    # Blank lines (and lines of bare delimiters) carry no values: they are not rows.
    blank = None
    for name in table.column_names:
        empty = pc.equal(decoded.column(name), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    if blank is not None and pc.any(blank).as_py():
        decoded = decoded.filter(pc.invert(blank))
    return decoded, rejects


def _stringify(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_dictionary(column.type):
        return _stringify(column.cast(column.type.value_type))
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


def _parse_parquet(name: str, data: bytes) -> ParsedFile:
    table = pq.read_table(io.BytesIO(data))
    records = pa.table({n: _stringify(table.column(n)) for n in table.column_names})
    records = records.append_column("_source_row", pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
    return ParsedFile(name, records, _rejects([]))


def _json_value(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


def _parse_jsonl(name: str, data: bytes) -> ParsedFile:
    if data.startswith(BOM):
        data = data[len(BOM) :]
    fast = _parse_jsonl_fast(name, data)
    if fast is not None:
        return fast
    columns: dict[str, list] = {}
    row_numbers: list[int] = []
    rejects = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            rejects.append(
                (
                    number,
                    "invalid_utf8",
                    "the line holds bytes that are not valid UTF-8",
                    json.dumps({"_raw_line": line.decode("utf-8", "replace")}),
                )
            )
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            rejects.append((number, "malformed_row", f"invalid JSON: {exc}", json.dumps({"_raw_line": text})))
            continue
        if not isinstance(obj, dict):
            rejects.append((number, "malformed_row", "the line is not a JSON object", json.dumps({"_raw_line": text})))
            continue
        for key in obj:
            columns.setdefault(key, [None] * len(row_numbers))
        for key, values in columns.items():
            values.append(_json_value(obj.get(key)))
        row_numbers.append(number)
    records = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    records = records.append_column("_source_row", pa.array(row_numbers, pa.int64()))
    return ParsedFile(name, records, _rejects(rejects))


def _parse_jsonl_fast(name: str, data: bytes) -> ParsedFile | None:
    """Arrow's reader handles the clean, flat case; anything unusual takes the line-by-line path."""
    if b"\n\n" in data or b"\r" in data or not data.strip():
        return None
    try:
        table = pajson.read_json(io.BytesIO(data))
        inferred_times = [f for f in table.schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
        if inferred_times:
            # Keep timestamps exactly as written: re-read those fields as the strings they are.
            as_text = pa.schema([pa.field(f.name, pa.string()) for f in inferred_times])
            options = pajson.ParseOptions(explicit_schema=as_text, unexpected_field_behavior="infer")
            table = pajson.read_json(io.BytesIO(data), parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if any(pa.types.is_nested(t) for t in table.schema.types):
        return None
    records = pa.table({n: _stringify(table.column(n)) for n in table.column_names})
    records = records.append_column("_source_row", pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
    return ParsedFile(name, records, _rejects([]))
