"""Delimited text (CSV, TSV, Excel's "Unicode text"), read as a stream a block at a time.

The delimiter is sniffed from the header (``,``, ``;``, tab or ``|``), or taken from Excel's ``sep=<c>``
first line when there is one (the header is then line 2). Values stay bytes until each chunk is checked
for valid UTF-8, so one bad row is a reject, not an unreadable file.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ecommerce_pipeline.ingest.encoding import as_utf8, detect, strip_utf8_bom
from ecommerce_pipeline.ingest.records import ParsedFile, duplicate_names, empty_records, rejects_table
from ecommerce_pipeline.ingest.sources import FileSource

DELIMITERS = (",", ";", "\t", "|")
CSV_BLOCK_BYTES = 8 << 20
EXCEL_SEPARATOR_LINE = re.compile(r'^"?sep=(.)"?$', re.IGNORECASE)


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


def _first_lines(file: FileSource, encoding: str, count: int = 2) -> list[bytes]:
    """Up to ``count`` first lines (UTF-8, BOM and line ends removed), skipping nothing; [] for a blank file."""
    head, at_end = b"", False
    with as_utf8(file.open(), encoding) as stream:
        # Read on until the lines are complete and the file is known not to be blank.
        while not (head.count(b"\n") >= count and strip_utf8_bom(head).strip()):
            block = stream.read(1 << 16)
            if not block:
                at_end = True
                break
            head += block
    head = strip_utf8_bom(head)
    if at_end and (not head or head.isspace()):
        return []
    return [line.rstrip(b"\r") for line in head.split(b"\n")[:count]]


def _line_numbers(first: int, count: int, skipped: np.ndarray) -> np.ndarray:
    """The first ``count`` line numbers from ``first`` on that the parser did not reject."""
    ahead = skipped[skipped >= first]
    candidates = np.arange(first, first + count + len(ahead), dtype=np.int64)
    if len(ahead):
        candidates = np.setdiff1d(candidates, ahead, assume_unique=True)
    return candidates[:count]


def read_delimited(file: FileSource, chunk_rows: int) -> Iterator[ParsedFile]:
    with file.open() as stream:
        encoding = detect(stream.read(4))
    lines = _first_lines(file, encoding)
    if not lines:
        yield ParsedFile(file.name, empty_records(), rejects_table([]))
        return
    first = lines[0].decode("utf-8", errors="replace")
    excel_hint = EXCEL_SEPARATOR_LINE.match(first.strip())
    header_lines = 2 if excel_hint else 1
    header_text = (lines[1] if len(lines) > 1 else b"").decode("utf-8", errors="replace") if excel_hint else first
    if excel_hint and not header_text.strip():
        yield ParsedFile(file.name, empty_records(), rejects_table([]))
        return
    delimiter = excel_hint.group(1) if excel_hint else _sniff_delimiter(header_text)
    written = next(csv.reader([header_text], delimiter=delimiter))
    names = _unique_names(written)
    duplicates = duplicate_names(written)
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
    stream = (
        pa.OSFile(str(file.local_path)) if file.local_path and encoding == "utf-8" else as_utf8(file.open(), encoding)
    )
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(
            column_names=names, skip_rows=header_lines, use_threads=False, block_size=CSV_BLOCK_BYTES
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=on_invalid_row, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.binary() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    next_line = header_lines + 1
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
        rejects = rejects_table(sorted(invalid + utf8_rejects))
        invalid.clear()
        return ParsedFile(file.name, table, rejects, duplicates)

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
